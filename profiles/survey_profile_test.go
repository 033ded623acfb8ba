package profiles

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSurveyBlockErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml string
		want []string
	}{
		"phases with survey": {`
target: {url: "http://127.0.0.1:1"}
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1}]
survey: {rate: 10}
`, []string{"phases", "not used with survey"}},
		"bad values": {`
target: {url: "http://127.0.0.1:1"}
requests: [{path: /}]
survey:
  rate: 0
  multipliers: [3, -1]
  warmup: 1s
  judge: 5s
`, []string{"survey.rate", "survey.multipliers[1]", "survey.warmup", "survey.judge: found 5s, want ≥ 2 × slo.recovery.window (5s)"}},
		"assertions": {`
target: {url: "http://127.0.0.1:1"}
requests: [{path: /}]
survey:
  rate: 10
  assert: ["survive(4x) >= 1s", "variant(nope).survive(3x) > 1s"]
variants: [{name: a, set: {survey.rate: 20}}]
`, []string{"survey.assert[0]", "4x is not surveyed", "survey.assert[1]", `unknown variant "nope"`}},
		"durations": {`
target: {url: "http://127.0.0.1:1"}
requests: [{path: /}]
survey: {rate: 10, durations: 30s..1s}
`, []string{"t.yaml:4:", "survey.durations", "MIN..MAX"}},
		"assertion grammar": {`
target: {url: "http://127.0.0.1:1"}
requests: [{path: /}]
survey: {rate: 10, assert: ["recover(3x) > 1s"]}
`, []string{"survey.assert[0]", "survive(MULTIPLIERx) OP DURATION"}},
	} {
		doc, err := Parse("t.yaml", "", []byte(tc.yaml))
		if err == nil {
			_, err = doc.Resolve(Options{})
		}
		require.Error(t, err, name)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, name)
		}
		assert.Contains(t, err.Error(), "t.yaml:", "%s: errors name the file and line", name)
	}
}
