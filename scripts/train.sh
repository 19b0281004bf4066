#!/usr/bin/env bash
# Train only when data, domain or config changed since the last model (a fingerprint of their bytes),
# one training at a time (flock), with Rasa's progress output.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p models var
fingerprint() {
  { cat config.yml domain.yml; find data -type f -name '*.yml' | sort | xargs cat; } | sha256sum | cut -c1-16
}
exec 9>var/train.lock
flock 9
.venv/bin/python -m bot sync-faq
fp=$(fingerprint)
if [ -f models/meldwijzer.tar.gz ] && [ "$(cat models/.fingerprint 2>/dev/null)" = "$fp" ] && [ "${1:-}" != "--force" ]; then
  echo "==> Model is up to date (models/meldwijzer.tar.gz); not retraining"
  exit 0
fi
echo "==> Training the Rasa model (NLU + dialogue); this takes a few minutes on 2 cores"
.venv/bin/rasa train --fixed-model-name meldwijzer --out models --num-threads 2
echo "$fp" > models/.fingerprint
