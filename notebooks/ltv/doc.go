// Package ltv is an executable walkthrough of customer lifetime value: BG/NBD and
// Gamma-Gamma (models/btyd) at the published CDNOW parameters, then the `propensity ltv`
// job (training/ltv) refitted on CDNOW, reproducing Fader, Hardie & Lee (2005). Run it with
// go test ./notebooks/ltv; the CDNOW cells skip when the shared datasets (docs/performance.md) is absent.
package ltv
