package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// USLFit is a Universal Scalability Law fit of throughput X against
// concurrency N:
//
//	X(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// σ (contention) is the fraction of the work that is serialised, κ
// (coherency) the cost of keeping N workers in step, λ the throughput of
// one worker (requests per second). The peak is at N* = sqrt((1−σ)/κ).
type USLFit struct {
	Sigma  float64 `json:"sigma"`
	Kappa  float64 `json:"kappa"`
	Lambda float64 `json:"lambda"`
	// PeakN is N*, the concurrency of maximum throughput; 0 when κ is 0
	// (throughput only levels off, towards λ/σ).
	PeakN float64 `json:"peak_concurrency"`
	// PeakRPS is X(N*), or the asymptote λ/σ when there is no peak (0 when
	// σ is 0 too: linear scaling within the data).
	PeakRPS float64 `json:"peak_rps"`
	// R2 is the coefficient of determination of the fit on X.
	R2 float64 `json:"r2"`
}

// Throughput is X(n) under the fitted law.
func (f USLFit) Throughput(n float64) float64 {
	return f.Lambda * n / (1 + f.Sigma*(n-1) + f.Kappa*n*(n-1))
}

// ErrUSLPoints is returned when a USL fit has too few usable points.
var ErrUSLPoints = errors.New("usl: need at least 3 points with distinct positive concurrency and throughput")

// FitUSL fits the Universal Scalability Law to the points (n[i], x[i]) by
// least squares on x. It starts from the linear least-squares solution of
// the linearised form N/X = 1/λ + (σ/λ)(N−1) + (κ/λ)N(N−1), then refines
// it with Levenberg–Marquardt on the residuals of X, keeping σ and κ in
// [0, 1] and [0, ∞). Points with n ≤ 0 or x ≤ 0 are ignored.
func FitUSL(n, x []float64) (USLFit, error) {
	if len(n) != len(x) {
		return USLFit{}, fmt.Errorf("usl: %d concurrency values but %d throughputs", len(n), len(x))
	}
	var ns, xs []float64
	distinct := map[float64]bool{}
	for i := range n {
		if n[i] > 0 && x[i] > 0 && !math.IsInf(n[i], 0) && !math.IsInf(x[i], 0) {
			ns, xs = append(ns, n[i]), append(xs, x[i])
			distinct[n[i]] = true
		}
	}
	if len(distinct) < 3 {
		return USLFit{}, ErrUSLPoints
	}
	p := uslLinearStart(ns, xs)
	p = uslRefine(ns, xs, p)
	f := USLFit{Lambda: p[0], Sigma: p[1], Kappa: p[2]}
	// Terms that change X by less than a part in 10⁹ within the data are
	// rounding noise, not contention: report them as 0.
	nmax := slices.Max(ns)
	if f.Sigma*nmax < 1e-9 {
		f.Sigma = 0
	}
	if f.Kappa*nmax*nmax < 1e-9 {
		f.Kappa = 0
	}
	switch {
	case f.Kappa > 0:
		f.PeakN = math.Sqrt((1 - f.Sigma) / f.Kappa)
		f.PeakRPS = f.Throughput(f.PeakN)
	case f.Sigma > 0:
		f.PeakRPS = f.Lambda / f.Sigma
	}
	f.R2 = uslR2(ns, xs, f)
	return f, nil
}

// uslParams is (λ, σ, κ).
type uslParams [3]float64

func (p uslParams) clamp() uslParams {
	p[0] = max(p[0], 1e-12)
	p[1] = min(max(p[1], 0), 1)
	p[2] = max(p[2], 0)
	return p
}

// uslLinearStart solves the linearised problem N/X = a + b(N−1) + cN(N−1)
// by least squares: λ = 1/a, σ = b/a, κ = c/a.
func uslLinearStart(ns, xs []float64) uslParams {
	var ata [3][3]float64
	var atb [3]float64
	for i := range ns {
		row := [3]float64{1, ns[i] - 1, ns[i] * (ns[i] - 1)}
		y := ns[i] / xs[i]
		for r := range 3 {
			for c := range 3 {
				ata[r][c] += row[r] * row[c]
			}
			atb[r] += row[r] * y
		}
	}
	sol, ok := solve3(ata, atb)
	if !ok || sol[0] <= 0 {
		// Fall back to pure linear scaling through the best single point.
		best := 0.0
		for i := range ns {
			best = max(best, xs[i]/ns[i])
		}
		return uslParams{best, 0, 0}
	}
	return uslParams{1 / sol[0], sol[1] / sol[0], sol[2] / sol[0]}.clamp()
}

// uslRefine minimises Σ(X(n) − x)² with Levenberg–Marquardt from p.
func uslRefine(ns, xs []float64, p uslParams) uslParams {
	cost := func(q uslParams) float64 {
		var s float64
		for i := range ns {
			d := uslX(q, ns[i]) - xs[i]
			s += d * d
		}
		return s
	}
	mu := 1e-3
	c := cost(p)
	for range 200 {
		var jtj [3][3]float64
		var jtr [3]float64
		for i := range ns {
			nn := ns[i]
			den := 1 + p[1]*(nn-1) + p[2]*nn*(nn-1)
			xv := p[0] * nn / den
			r := xs[i] - xv
			// Partial derivatives of X with respect to λ, σ, κ.
			j := [3]float64{nn / den, -xv * (nn - 1) / den, -xv * nn * (nn - 1) / den}
			for a := range 3 {
				for b := range 3 {
					jtj[a][b] += j[a] * j[b]
				}
				jtr[a] += j[a] * r
			}
		}
		improved := false
		for range 20 {
			m := jtj
			for a := range 3 {
				m[a][a] += mu * max(jtj[a][a], 1e-12)
			}
			step, ok := solve3(m, jtr)
			if !ok {
				mu *= 10
				continue
			}
			q := uslParams{p[0] + step[0], p[1] + step[1], p[2] + step[2]}.clamp()
			if cq := cost(q); cq < c {
				rel := (c - cq) / max(c, 1e-300)
				p, c = q, cq
				mu = max(mu/10, 1e-12)
				improved = rel > 1e-12
				break
			}
			mu *= 10
		}
		if !improved {
			break
		}
	}
	return p
}

func uslX(p uslParams, n float64) float64 {
	return p[0] * n / (1 + p[1]*(n-1) + p[2]*n*(n-1))
}

func uslR2(ns, xs []float64, f USLFit) float64 {
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ssRes, ssTot float64
	for i := range ns {
		d := xs[i] - f.Throughput(ns[i])
		ssRes += d * d
		e := xs[i] - mean
		ssTot += e * e
	}
	if ssTot == 0 {
		return 1
	}
	return 1 - ssRes/ssTot
}

// solve3 solves the 3×3 system m·v = b by Gaussian elimination with partial
// pivoting; ok is false when m is (nearly) singular.
func solve3(m [3][3]float64, b [3]float64) (v [3]float64, ok bool) {
	var scale float64
	for r := range 3 {
		for c := range 3 {
			scale = max(scale, math.Abs(m[r][c]))
		}
	}
	if scale == 0 {
		return v, false
	}
	for col := range 3 {
		piv := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[piv][col]) {
				piv = r
			}
		}
		if math.Abs(m[piv][col]) <= 1e-14*scale {
			return v, false
		}
		m[col], m[piv] = m[piv], m[col]
		b[col], b[piv] = b[piv], b[col]
		for r := col + 1; r < 3; r++ {
			f := m[r][col] / m[col][col]
			for c := col; c < 3; c++ {
				m[r][c] -= f * m[col][c]
			}
			b[r] -= f * b[col]
		}
	}
	for r := 2; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < 3; c++ {
			s -= m[r][c] * v[c]
		}
		v[r] = s / m[r][r]
	}
	return v, true
}
