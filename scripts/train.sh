#!/usr/bin/env bash
# Train only when what the model is made of changed since the last model: a fingerprint of the config,
# the domain, the training data and the versions of the libraries that train it. One training at a time (flock), with Rasa's
# progress output.
#
# A model trained once is kept in a cache outside the checkout (MELDWIJZER_MODEL_CACHE, default
# ~/.cache/meldwijzer/models; "off" disables it), under its fingerprint: another clone, a branch switched
# back, or CI on a machine that trained the same data before takes it from there instead of training
# again. The newest MODEL_CACHE_KEEP (3) models are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p models var
MODEL_CACHE_KEEP=3
# The libraries that turn the data into a model (a test tool added to the requirements changes nothing).
TRAINING_LIBRARIES="rasa tensorflow spacy nl_core_news_sm numpy scikit-learn scipy"
fingerprint() {
  { cat config.yml domain.yml; find data -type f -name '*.yml' | LC_ALL=C sort | xargs cat
    .venv/bin/python -c "import importlib.metadata as m, sys; print([m.version(p) for p in sys.argv[1:]])" \
      $TRAINING_LIBRARIES; } | sha256sum | cut -c1-16
}
exec 9>var/train.lock
flock 9
.venv/bin/python -m bot sync-faq
fp=$(fingerprint)
if [ -f models/meldwijzer.tar.gz ] && [ "$(cat models/.fingerprint 2>/dev/null)" = "$fp" ] && [ "${1:-}" != "--force" ]; then
  echo "==> Model is up to date (models/meldwijzer.tar.gz); not retraining"
  exit 0
fi
cache="${MELDWIJZER_MODEL_CACHE:-$HOME/.cache/meldwijzer/models}"
if [ "$cache" != "off" ] && [ -f "$cache/$fp.tar.gz" ] && [ "${1:-}" != "--force" ]; then
  cp "$cache/$fp.tar.gz" models/meldwijzer.tar.gz.part && mv models/meldwijzer.tar.gz.part models/meldwijzer.tar.gz
  echo "$fp" > models/.fingerprint
  touch "$cache/$fp.tar.gz"
  echo "==> Model for this data taken from the model cache ($cache/$fp.tar.gz); not retraining"
  exit 0
fi
echo "==> Training the Rasa model (NLU + dialogue); this takes a few minutes on 2 cores"
.venv/bin/rasa train --fixed-model-name meldwijzer --out models --num-threads 2
echo "$fp" > models/.fingerprint
if [ "$cache" != "off" ]; then
  mkdir -p "$cache"
  cp models/meldwijzer.tar.gz "$cache/$fp.tar.gz.part" && mv "$cache/$fp.tar.gz.part" "$cache/$fp.tar.gz"
  ls -1t "$cache"/*.tar.gz | tail -n +$((MODEL_CACHE_KEEP + 1)) | xargs -r rm -f
fi
