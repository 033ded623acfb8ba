package kubernetes_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The manifests are checked structurally: a typo here would only show when a
// user applies them to a cluster.

type kustomization struct {
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name     string   `yaml:"name"`
		Literals []string `yaml:"literals"`
	} `yaml:"configMapGenerator"`
}

type job struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    *int   `yaml:"completions"`
		Parallelism    *int   `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy   string `yaml:"restartPolicy"`
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []container `yaml:"containers"`
				Volumes    []struct {
					Name string `yaml:"name"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name string `yaml:"name"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func decodeFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	var k kustomization
	decodeFile(t, "kustomization.yaml", &k)
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	var manifests []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") && e.Name() != "kustomization.yaml" {
			manifests = append(manifests, e.Name())
		}
	}
	assert.ElementsMatch(t, manifests, k.Resources)
}

func TestJobIsIndexedAndShardsMatch(t *testing.T) {
	var j job
	decodeFile(t, "job.yaml", &j)
	assert.Equal(t, "batch/v1", j.APIVersion)
	assert.Equal(t, "Job", j.Kind)
	assert.Equal(t, "Indexed", j.Spec.CompletionMode)
	require.NotNil(t, j.Spec.Completions)
	require.NotNil(t, j.Spec.Parallelism)
	n := *j.Spec.Completions
	assert.Equal(t, n, *j.Spec.Parallelism, "every shard runs at once")
	assert.Equal(t, "Never", j.Spec.Template.Spec.RestartPolicy)
	assert.True(t, j.Spec.Template.Spec.SecurityContext.RunAsNonRoot)

	require.Len(t, j.Spec.Template.Spec.Containers, 1)
	c := j.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	assert.Equal(t, "attack", c.Args[0])
	assert.Contains(t, args, "--shards="+strconv.Itoa(n), "--shards must equal completions")
	assert.Contains(t, args, "--start-at=$(START_AT)", "every shard starts at one agreed instant")
	assert.Contains(t, args, "$(JOB_COMPLETION_INDEX)", "each shard writes its own file")
	for _, e := range c.Env {
		assert.NotEqual(t, "JOB_COMPLETION_INDEX", e.Name, "the Job controller sets the index; do not override it")
	}

	// Every $(VAR) in the args comes from the ConfigMap or the Job controller.
	var k kustomization
	decodeFile(t, "kustomization.yaml", &k)
	defined := map[string]bool{"JOB_COMPLETION_INDEX": true}
	for _, g := range k.ConfigMapGenerator {
		for _, lit := range g.Literals {
			name, value, _ := strings.Cut(lit, "=")
			defined[name] = true
			if name == "START_AT" {
				_, err := time.Parse(time.RFC3339, value)
				assert.Error(t, err, "START_AT must be stamped when the Job is created, not fixed in the manifest (a fixed date lies in the past by the time it is applied)")
			}
		}
		assert.Equal(t, g.Name, c.EnvFrom[0].ConfigMapRef.Name)
	}
	for _, m := range regexp.MustCompile(`\$\(([A-Z_]+)\)`).FindAllStringSubmatch(args, -1) {
		assert.True(t, defined[m[1]], "$(%s) is not defined", m[1])
	}

	assert.NotEmpty(t, c.Resources.Requests["cpu"])
	assert.NotEmpty(t, c.Resources.Requests["memory"])
	assert.NotEmpty(t, c.Resources.Limits["memory"])
	require.Len(t, c.VolumeMounts, 1)
	assert.Equal(t, c.VolumeMounts[0].Name, j.Spec.Template.Spec.Volumes[0].Name)
	assert.Contains(t, args, c.VolumeMounts[0].MountPath+"/", "results go to the shared volume")
}

func TestNoLatestTags(t *testing.T) {
	for _, path := range []string{"job.yaml", "../../Dockerfile"} {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`(?m)^\s*(?:image:|FROM)\s+(\S+)`).FindAllStringSubmatch(string(b), -1) {
			image := m[1]
			assert.Regexp(t, `:[\w.-]+$`, image, "%s: %s has no tag", path, image)
			assert.NotContains(t, image, ":latest", "%s: %s", path, image)
		}
	}
}
