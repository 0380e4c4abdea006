// Package serving is propensity's HTTP API (Gin) and its model registry.
package serving
