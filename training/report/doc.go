// Package report renders training reports: plots drawn with gonum.org/v1/plot as inline SVG
// (ROC, gains, lift, calibration, and generic bar, line and scatter charts) and a
// self-contained HTML page holding them with metric tables. A report opens in any browser
// without network access.
package report
