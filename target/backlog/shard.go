package backlog

import (
	"fmt"
	"math"
	"math/bits"
)

// ShardOf appends to dst the shardSize distinct queues, out of queues, that
// tenant may use, and returns the extended slice. The choice is a pure
// function of (seed, tenant, queues, shardSize): a 64-bit FNV-1a hash of the
// tenant, mixed with the seed, seeds a SplitMix64 sequence that draws queues
// without replacement, so every K-subset of the N queues is equally likely.
// It panics unless 1 ≤ shardSize ≤ min(queues, MaxShardSize).
func ShardOf(seed uint64, tenant string, queues, shardSize int, dst []int) []int {
	if shardSize < 1 || shardSize > queues || shardSize > MaxShardSize {
		panic(fmt.Sprintf("backlog.ShardOf: shard size %d out of 1..min(%d, %d)", shardSize, queues, MaxShardSize))
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(tenant); i++ {
		h ^= uint64(tenant[i])
		h *= 1099511628211
	}
	state := h ^ (seed * 0x9e3779b97f4a7c15)
	start := len(dst)
	for len(dst)-start < shardSize {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		q, _ := bits.Mul64(z, uint64(queues))
		taken := false
		for _, p := range dst[start:] {
			if p == int(q) {
				taken = true
				break
			}
		}
		if !taken {
			dst = append(dst, int(q))
		}
	}
	return dst
}

// ExactOverlap returns, for s = 0..k, the probability that two tenants
// given independent uniformly random k-subsets of n queues share exactly s
// queues: the hypergeometric C(k,s)·C(n−k,k−s)/C(n,k).
func ExactOverlap(n, k int) []float64 {
	out := make([]float64, k+1)
	total := logChoose(n, k)
	for s := 0; s <= k; s++ {
		if k-s > n-k {
			continue
		}
		out[s] = math.Exp(logChoose(k, s) + logChoose(n-k, k-s) - total)
	}
	return out
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// MeasuredOverlap returns, for s = 0..k, the fraction of the pairs of
// tenants "tenant-0" … "tenant-(tenants−1)" whose ShardOf assignments share
// exactly s queues, over all tenants·(tenants−1)/2 pairs. tenants must be
// at least 2.
func MeasuredOverlap(seed uint64, n, k, tenants int) []float64 {
	words := (n + 63) / 64
	sets := make([]uint64, tenants*words)
	var buf [MaxShardSize]int
	for t := range tenants {
		set := sets[t*words : (t+1)*words]
		for _, q := range ShardOf(seed, fmt.Sprintf("tenant-%d", t), n, k, buf[:0]) {
			set[q/64] |= 1 << (q % 64)
		}
	}
	counts := make([]int, k+1)
	for i := range tenants {
		a := sets[i*words : (i+1)*words]
		for j := i + 1; j < tenants; j++ {
			b := sets[j*words : (j+1)*words]
			shared := 0
			for w := range a {
				shared += bits.OnesCount64(a[w] & b[w])
			}
			counts[shared]++
		}
	}
	pairs := float64(tenants) * float64(tenants-1) / 2
	out := make([]float64, k+1)
	for s, c := range counts {
		out[s] = float64(c) / pairs
	}
	return out
}
