#!/usr/bin/env bash
# Runs the uplift acceptance bar of docs/models.md on generated histories: 50,000 contacts,
# seeds 1, 2 and 3 (TestGeneratedCampaign, with its log lines per seed).
set -euo pipefail
cd "$(dirname "$0")/.."
UPLIFT_CONTACTS="${UPLIFT_CONTACTS:-50000}" UPLIFT_SEEDS="${UPLIFT_SEEDS:-1,2,3}" \
	go test ./training/uplift -run TestGeneratedCampaign -count=1 -v -timeout 60m
