#!/usr/bin/env bash
# Issue 15's explorations on a lent GPU machine (one H200, 16 cores), all in one
# call: ensemble members (bench_ensemble.py) and robust CNNs under AutoAttack
# (bench_adversarial.py) as parallel processes on the one GPU, each stopped
# after LIMIT seconds; logs and test probabilities come back in results.tar.gz.
# Wheels of skorch, skops, torchattacks (and their missing needs) in .whl/,
# MNIST's four files in .gpu/mnist/ (both ignored, carried with the call).
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD MNIST_DIR=$PWD/.gpu/mnist OMP_NUM_THREADS=1 \
    PYTHONUNBUFFERED=1
python3 -c "import torch, torchattacks, sklearn_mnist; assert torch.cuda.is_available()" \
    || exit 1
nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv
cd benchmarks
LIMIT=${LIMIT:-440}
mkdir -p "$OUT/logs" "$OUT/proba"
run() { name=$1; shift; timeout "$LIMIT" python3 "$@" > "$OUT/logs/$name.log" 2>&1 & }
for s in 0 1 2 3; do
    run "affine20-$s" bench_ensemble.py --members "affine:$s" --epochs 20 --save-proba "$OUT/proba"
    run "affine30-$s" bench_ensemble.py --members "affine:$s" --epochs 30 --save-proba "$OUT/proba"
done
for s in 0 1; do
    run "elastic-$s" bench_ensemble.py --members "elastic:$s" --epochs 20 --save-proba "$OUT/proba"
    run "wide-$s" bench_ensemble.py --members "wide:$s" --epochs 20 --save-proba "$OUT/proba"
done
run "strong-0" bench_ensemble.py --members strong:0 --epochs 20 --save-proba "$OUT/proba"
run pgd5 bench_adversarial.py --train --train-iter 5 --depth 1 --epochs 12 \
    --aa-n 10000 --aa-batch 2000 --curve-n 500 --figure "$OUT/logs/pgd5.png"
run trades10 bench_adversarial.py --train --loss trades --beta 6 --train-iter 10 \
    --depth 1 --epochs 15 --aa-n 1000 --aa-batch 1000 --curve-n 500 \
    --figure "$OUT/logs/trades10.png"
sleep 30; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv
wait
for f in "$OUT"/logs/*.log; do echo "== $f"; grep -E "member|model\(s\)|^\| CNN|Error" "$f" | tail -n 3; done
tar czf "$OUT/results.tar.gz" -C "$OUT" logs proba && rm -rf "$OUT/logs" "$OUT/proba"
