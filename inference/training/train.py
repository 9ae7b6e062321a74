#!/usr/bin/env python3
"""Trains SurgeGuard's demand forecaster and exports it to ONNX with its contract, model card, reference outputs,
golden inputs and training corpus.

A small multi-quantile MLP (numpy, Adam on pinball loss; no torch) reads the last L intervals and the same
stretch one season earlier, both divided by the recent mean (+1) and passed through log1p, and predicts quantiles
for the next H intervals.

Training data is disjoint BY SERIES from everything the benchmark scores. It reads only the TRAIN files below
(paths under ../shared/data); the SCORED files are never opened, not even for normalisation or model selection:

    TRAIN   nab/realTweets/Twitter_volume_{AMZN,FB,IBM}.csv            5 min
            nab/realKnownCause/nyc_taxi.csv                            30 min
            traces-dev/servegen/language_m-large_* (4 files), language_m-small_* (4 files),
            multimodal_mm-image_* (2 files)                            10 min; an empty value = carry the previous one
    SCORED  Twitter AAPL, GOOG, KO; Wikipedia peyton_manning; Azure LLM code; ServeGen language_m-mid_* and
            reason_deepseek-r1_*; worldcup98 (ServeGen totals and their clients are parts of each other, so the
            split is by model pool)

The shipped model is trained on the whole of every TRAIN series, plus each of them summed into coarser intervals
(x3, x6: the runtime sums fine ticks into the coarsest-needed model interval), all block alignments, each summed
copy weighing half as much as the native series (variant b-aggregate-native-heavy, the best in --tune).
Model selection (`--tune`) is rolling-origin inside the TRAIN series: origins at 60/70/80% of each series, a model
trained on what lies before each origin, scored on the next block (60-70%, 70-80%, 80-100%) at horizons 1, 2, 4 and
12, at the native interval and summed x3 and x6; it writes inference/training/tune-results.json, which the model
card quotes.

    python3 -m venv ~/.cache/surgeguard/py/venv && ~/.cache/surgeguard/py/venv/bin/pip install -r inference/training/requirements.txt
    ~/.cache/surgeguard/py/venv/bin/python inference/training/train.py [--data DIR] [--out DIR] [--variant NAME]
    ~/.cache/surgeguard/py/venv/bin/python inference/training/train.py --tune [--jobs 2] [--variants a,b]

Writes, under --out (inference/models/): surgeguard-forecaster.onnx, reference-outputs.json, golden-inputs.json,
training-corpus.json and MODEL_CARD.md. Needs numpy and onnx (no torch). Deterministic: a fixed seed and one BLAS
thread (forced below, before numpy loads); on one machine the model file is identical bit for bit on every run.
Training takes about 2 minutes on two cores; --tune (5 variants, 3 origins each, 2 processes) about 15 minutes.
"""
import os

# One BLAS thread, always: a multithreaded matmul sums in a different order from run to run.
for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS'):
    os.environ[_var] = '1'

import argparse, csv, hashlib, json, math, platform, sys, time
from collections import Counter
from datetime import datetime, timezone

import numpy as np
import onnx
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, helper, numpy_helper

VERSION = '1.2.0'
L, C, H = 48, 8, 12                      # recent input length, seasonal context, horizon
QUANTILES = [0.1, 0.5, 0.9]
# Model intervals the runtime may use. Training covers 300, 600 and 1800 s natively and 900..10800 s through sums;
# the inputs are scale-free (divided by their recent mean), and the interval only sets the seasonal lag.
INTERVALS = [15, 60, 300, 600, 1800, 86400]
CLIP = 50.0
SEED = 20261129
HIDDEN = 96
EPOCHS = 40
LOG_INPUTS = True
ORIGINS = (0.6, 0.7, 0.8)                # rolling-origin model selection; the last block runs to the end
EVAL_HORIZONS = (1, 2, 4, 12)
EVAL_FACTORS = (1, 3, 6)                 # each TRAIN series is also scored summed into 3x and 6x intervals
MIN_EVAL_LENGTH = 200                    # intervals (after summing) a series needs to be scored in --tune
ALIGN = 6                                # origins fall on multiples of this, so summed blocks never straddle one

# name, path under the data folder, time column, value column
TRAIN = [
    ('twitter_AMZN', 'nab/realTweets/Twitter_volume_AMZN.csv'),
    ('twitter_FB', 'nab/realTweets/Twitter_volume_FB.csv'),
    ('twitter_IBM', 'nab/realTweets/Twitter_volume_IBM.csv'),
    ('nyc_taxi', 'nab/realKnownCause/nyc_taxi.csv'),
] + [(f'servegen_{s}', f'traces-dev/servegen/{s}_req-per-10min.csv') for s in (
    'language_m-large_all-clients', 'language_m-large_client-142', 'language_m-large_client-148', 'language_m-large_client-61',
    'language_m-small_all-clients', 'language_m-small_client-17', 'language_m-small_client-38', 'language_m-small_client-5',
    'multimodal_mm-image_all-clients', 'multimodal_mm-image_client-12')]

# Every series the benchmark scores. train.py never opens these (read_series refuses them).
SCORED = [
    'nab/realTweets/Twitter_volume_AAPL.csv',
    'nab/realTweets/Twitter_volume_GOOG.csv',
    'nab/realTweets/Twitter_volume_KO.csv',
    'traces/wikipedia_pageviews/prophet_example_wp_peyton_manning.csv',
    'traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv',
] + [f'traces-dev/servegen/{s}_req-per-10min.csv' for s in (
    'language_m-mid_all-clients', 'language_m-mid_client-36', 'language_m-mid_client-60', 'language_m-mid_client-73',
    'reason_deepseek-r1_all-clients', 'reason_deepseek-r1_client-35')] + [
    'traces-dev/worldcup98/wc98_requests_per_minute.csv',
]

# Model-selection candidates. factors: the intervals trained on, as multiples of each series' own; burst: extra
# weight (up to 1 + burst) on windows whose next H intervals rise above the recent maximum.
VARIANTS = {
    'a-current': {'factors': (1,), 'burst': 0.0, 'about': 'the 1.1 design: native intervals only, every window weighted alike'},
    'b-aggregate': {'factors': (1, 3, 6), 'burst': 0.0, 'about': 'also trained on each series summed x3 and x6 (all block alignments)'},
    'c-burst': {'factors': (1,), 'burst': 3.0, 'about': 'native only; windows followed by a rise above the recent max weigh up to 4x'},
    'bc-aggregate+burst': {'factors': (1, 3, 6), 'burst': 3.0, 'about': 'b and c together'},
    'b-aggregate-native-heavy': {'factors': (1, 3, 6), 'factor_weights': (1.0, 0.5, 0.5), 'burst': 0.0,
                                 'about': 'b, with each summed copy weighing half as much as the native series'},
}
CHOSEN = 'b-aggregate-native-heavy'      # the lowest score in `--tune` (inference/training/tune-results.json)

# ---------- data (the same reading rules as `surgeguard replay`) ----------

def parse_time(s):
    s = s.strip().strip('"')
    try:
        return float(s)
    except ValueError:
        pass
    if '.' in s:                          # Python 3.11 reads at most 6 fraction digits
        head, frac = s.split('.', 1)
        s = head + '.' + frac[:6]
    t = datetime.fromisoformat(s.replace('Z', '+00:00'))
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.timestamp()

def interval_series(path, tcol='timestamp', vcol='value'):
    """Counts per interval. An empty value is no data, like a missing row: the previous value is carried."""
    rows = []
    with open(path, newline='') as f:
        for r in csv.DictReader(f):
            if r[vcol] is None or r[vcol].strip() == '':
                continue
            ts, v = parse_time(r[tcol]), float(r[vcol])
            if rows and rows[-1][0] == ts:
                rows[-1][1] += v
            else:
                rows.append([ts, v])
    gaps = Counter(round(b[0] - a[0], 3) for a, b in zip(rows, rows[1:]))
    step = min(g for g, n in gaps.items() if n == max(gaps.values()))
    out = [rows[0][1]]
    for (t0, _), (t1, v) in zip(rows, rows[1:]):
        out.extend([out[-1]] * max(0, round((t1 - t0) / step) - 1))   # gaps: previous value
        out.append(v)
    return np.array(out, dtype=np.float64), step

def read_series(data, rel):
    if rel in SCORED or rel not in {p for _, p in TRAIN}:
        raise SystemExit(f'refusing to read {rel}: not a TRAIN series')
    return interval_series(os.path.join(data, rel))

def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()

def load_train(data):
    out = []
    for name, rel in TRAIN:
        series, step = read_series(data, rel)
        out.append({'name': name, 'path': rel, 'series': series, 'step': step, 'sha256': sha256(os.path.join(data, rel))})
        print(f'{name}: {len(series)} intervals of {step:g}s', file=sys.stderr)
    return out

def block_sums(series, f):
    """Consecutive sums of f values from the first one (a remainder at the end is dropped), added left to right."""
    n = len(series) // f
    blocks = np.asarray(series[:n * f], dtype=np.float64).reshape(n, f)
    s = np.zeros(n)
    for j in range(f):
        s = s + blocks[:, j]
    return s

def aggregate_ending(series, f):
    """Mirror of aggregate() in inference/onnx-forecaster.ts: sums of f values, the last ending at the last value
    (a remainder at the start is dropped)."""
    return block_sums(series[len(series) % f:], f)

# ---------- features (mirrored by inference/onnx-forecaster.ts) ----------

def season_steps(step):
    """A day in intervals (a week for daily data); the seasonal lag is the smallest multiple >= H."""
    p = 7 if step >= 86400 else max(1, round(86400 / step))
    return p * math.ceil(H / p)

def window(series, t, lag):
    """Model inputs for a forecast made at the end of interval t (uses series[:t+1] only)."""
    recent = series[max(0, t - L + 1):t + 1]
    recent = np.concatenate([np.full(L - len(recent), recent[0]), recent])
    start = t - lag - C + 1
    if start >= 0:
        seasonal, avail = series[start:start + C + H], 1.0
    else:
        seasonal, avail = np.full(C + H, recent[-1]), 0.0
    return recent, seasonal, avail

def windows(series, step, ts):
    """window() for every t in ts at once (checked against window() in main)."""
    lag = season_steps(step)
    ts = np.asarray(ts, dtype=np.int64)
    pad = np.concatenate([np.full(L - 1, series[0]), series])
    R = sliding_window_view(pad, L)[ts]
    start = ts - lag - C + 1
    ok = start >= 0
    if len(series) >= C + H:
        S = np.where(ok[:, None], sliding_window_view(series, C + H)[np.maximum(start, 0)], series[ts][:, None])
    else:
        S = np.repeat(series[ts][:, None], C + H, axis=1)
    return R, S, ok.astype(np.float64)[:, None]

def dataset(series, step, t_from, t_to):
    ts = np.arange(t_from, t_to)
    R, S, A = windows(series, step, ts)
    return R, S, A, sliding_window_view(series, H)[ts + 1]

def normalize(R, S, A):
    scale = R.mean(axis=1, keepdims=True) + 1.0
    r, s = np.minimum(R / scale, CLIP), np.minimum(S / scale, CLIP)
    if LOG_INPUTS:                        # bursts are multiplicative: log1p spreads small ratios, squeezes spikes
        r, s = np.log1p(r), np.log1p(s)
    X = np.concatenate([r, s, A], axis=1)
    return X, scale

def training_set(train, variant, cut=None):
    """Windows (normalised inputs, targets, weights) from every TRAIN series, each cut to its first `cut(n)` intervals
    when given (rolling origin: only targets before the origin). Every (series, factor) pair weighs the same in
    total (times the variant's factor_weights), shared by its block alignments and windows."""
    Xs, Ys, Ws = [], [], []
    for tr in train:
        s = tr['series'] if cut is None else tr['series'][:cut(len(tr['series']))]
        for f, fw in zip(variant['factors'], variant.get('factor_weights', (1.0,) * len(variant['factors']))):
            parts = []
            for off in range(f):
                agg = block_sums(s[off:], f)
                if len(agg) <= H:
                    continue
                R, S, A, Y = dataset(agg, tr['step'] * f, 0, len(agg) - H)
                X, scale = normalize(R, S, A)
                w = np.ones(len(X))
                if variant['burst'] > 0:
                    surge = Y.max(axis=1) / (R.max(axis=1) + 1.0)
                    w += variant['burst'] * np.clip(surge - 1.0, 0.0, 1.0)
                parts.append((X, np.minimum(Y / scale, CLIP), w))
            if not parts:
                continue
            total = sum(p[2].sum() for p in parts)
            for X, Y, w in parts:
                Xs.append(X); Ys.append(Y); Ws.append(w * fw / total)
    X, Y, w = np.concatenate(Xs), np.concatenate(Ys), np.concatenate(Ws)
    return X, Y, w * len(X) / w.sum()

# ---------- model ----------

def init(sizes, rng):
    return [(rng.normal(0, math.sqrt(2 / a), (a, b)), np.zeros(b)) for a, b in zip(sizes, sizes[1:])]

def forward(params, X, keep=False):
    acts, h = [X], X
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        if i < len(params) - 1:
            h = np.maximum(h, 0)
        acts.append(h)
    return (h, acts) if keep else h

def train(X, Y, w, rng, epochs=None, batch=512, lr=2e-3, log=True):
    epochs = EPOCHS if epochs is None else epochs
    q = np.tile(np.array(QUANTILES), H)                      # output j*Q + k: step j, quantile k
    params = init([X.shape[1], HIDDEN, HIDDEN, H * len(QUANTILES)], rng)
    m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    v = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    Yq = np.repeat(Y, len(QUANTILES), axis=1)
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(len(X))
        total = 0.0
        for i in range(0, len(X), batch):
            idx = order[i:i + batch]
            out, acts = forward(params, X[idx], keep=True)
            err = Yq[idx] - out
            ww = w[idx][:, None]
            total += float((ww * np.maximum(q * err, (q - 1) * err)).sum())
            g = -ww * np.where(err > 0, q, q - 1) / ww.sum()     # d pinball / d out
            step += 1
            a_lr = lr * (0.5 if epoch >= epochs * 0.6 else 1.0) * (0.4 if epoch >= epochs * 0.85 else 1.0)
            for li in range(len(params) - 1, -1, -1):
                W, b = params[li]
                gW, gb = acts[li].T @ g, g.sum(axis=0)
                if li > 0:
                    g = (g @ W.T) * (acts[li] > 0)
                for j, (p_, gp) in enumerate(((W, gW), (b, gb))):
                    mm, vv = m[li][j], v[li][j]
                    mm *= 0.9; mm += 0.1 * gp
                    vv *= 0.999; vv += 0.001 * gp * gp
                    p_ -= a_lr * (mm / (1 - 0.9 ** step)) / (np.sqrt(vv / (1 - 0.999 ** step)) + 1e-8)
        if log:
            print(f'epoch {epoch + 1:2d}/{epochs}: weighted pinball {total / w.sum():.4f}', file=sys.stderr)
    return params

def predict(params, R, S, A):
    X, scale = normalize(R, S, A)
    out = np.maximum(forward(params, X), 0) * scale
    return out.reshape(len(R), H, len(QUANTILES))

# ---------- export ----------

def export(params, path, contract):
    f32 = lambda a: numpy_helper.from_array(np.asarray(a, dtype=np.float32))
    inits, nodes = [], []
    def const(name, arr):
        t = f32(arr); t.name = name; inits.append(t)
    const('one', [1.0]); const('clip', [CLIP])
    inits.append(numpy_helper.from_array(np.array([-1, H, len(QUANTILES)], dtype=np.int64), 'shape'))
    nodes += [
        helper.make_node('ReduceMean', ['recent'], ['mean'], axes=[1], keepdims=1),
        helper.make_node('Add', ['mean', 'one'], ['scale']),
        helper.make_node('Div', ['recent', 'scale'], ['r0']), helper.make_node('Min', ['r0', 'clip'], ['r']),
        helper.make_node('Div', ['seasonal', 'scale'], ['s0']), helper.make_node('Min', ['s0', 'clip'], ['s']),
    ]
    if LOG_INPUTS:
        nodes += [helper.make_node('Add', ['r', 'one'], ['r1']), helper.make_node('Log', ['r1'], ['rl']),
                  helper.make_node('Add', ['s', 'one'], ['s1']), helper.make_node('Log', ['s1'], ['sl'])]
    rin, sin = ('rl', 'sl') if LOG_INPUTS else ('r', 's')
    nodes.append(helper.make_node('Concat', [rin, sin, 'season_available'], ['x0'], axis=1))
    prev = 'x0'
    for i, (W, b) in enumerate(params):
        const(f'W{i}', W); const(f'b{i}', b)
        nodes.append(helper.make_node('MatMul', [prev, f'W{i}'], [f'm{i}']))
        nodes.append(helper.make_node('Add', [f'm{i}', f'b{i}'], [f'a{i}']))
        nodes.append(helper.make_node('Relu', [f'a{i}'], [f'x{i + 1}']))
        prev = f'x{i + 1}'
    nodes.append(helper.make_node('Mul', [prev, 'scale'], ['flat']))
    nodes.append(helper.make_node('Reshape', ['flat', 'shape'], ['quantiles']))
    graph = helper.make_graph(nodes, 'surgeguard_forecaster', [
        helper.make_tensor_value_info('recent', TensorProto.FLOAT, ['N', L]),
        helper.make_tensor_value_info('seasonal', TensorProto.FLOAT, ['N', C + H]),
        helper.make_tensor_value_info('season_available', TensorProto.FLOAT, ['N', 1]),
    ], [helper.make_tensor_value_info('quantiles', TensorProto.FLOAT, ['N', H, len(QUANTILES)])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)], producer_name='surgeguard-train',
                              producer_version=VERSION, ir_version=8)
    model.model_version = 1
    helper.set_model_props(model, {'surgeguard.contract': json.dumps(contract, sort_keys=True)})
    onnx.checker.check_model(model)
    onnx.save(model, path)

# ---------- rolling-origin evaluation ----------

def origin_at(frac):
    return lambda n: int(frac * n) // ALIGN * ALIGN

def eval_cells(train):
    """(name, series summed by f from its first value, model interval, f) for every TRAIN series long enough."""
    out = []
    for tr in train:
        for f in EVAL_FACTORS:
            agg = block_sums(tr['series'], f)
            if len(agg) >= MIN_EVAL_LENGTH:
                out.append((tr['name'], agg, tr['step'] * f, f, len(tr['series'])))
    return out

def score_block(pred_fn, agg, step, f, n_native, frac, end_frac):
    """MASE of p50 and pinball of p90 (both over the in-sample seasonal-naive MAE before the origin) at each
    horizon in EVAL_HORIZONS, for forecasts made from the origin to the end of its block."""
    o = origin_at(frac)(n_native) // f
    end = len(agg) if end_frac >= 1 else origin_at(end_frac)(n_native) // f
    season = 7 if step >= 86400 else round(86400 / step)
    m = season if season < o // 2 else 1
    hist = agg[:o]
    scale = float(np.mean(np.abs(hist[m:] - hist[:-m]))) or 1.0
    ts = np.arange(o - 1, end - 1)
    R, S, A = windows(agg, step, ts)
    q = pred_fn(R, S, A)
    out = {}
    for k in EVAL_HORIZONS:
        ok = ts + k < end                                    # target index t + k (k steps ahead) inside the block
        y = agg[ts[ok] + k]
        p50, p90 = q[ok, k - 1, 1], q[ok, k - 1, 2]
        last = agg[ts[ok]]
        e90, elast = y - p90, y - last
        out[k] = {'mase_p50': float(np.mean(np.abs(y - p50)) / scale),
                  'pinball_p90': float(np.mean(np.maximum(0.9 * e90, -0.1 * e90)) / scale),
                  'naive_mase': float(np.mean(np.abs(elast)) / scale),
                  'naive_pinball': float(np.mean(np.maximum(0.9 * elast, -0.1 * elast)) / scale),
                  'points': int(ok.sum())}
    return out

_TRAIN_DATA = None                        # set before the worker pool forks

def tune_job(job):
    name, oi = job
    variant = VARIANTS[name]
    frac = ORIGINS[oi]
    end_frac = ORIGINS[oi + 1] if oi + 1 < len(ORIGINS) else 1.0
    t0 = time.time()
    X, Y, w = training_set(_TRAIN_DATA, variant, cut=origin_at(frac))
    params = train(X, Y, w, np.random.default_rng(SEED), log=False)
    pred = lambda R, S, A: predict(params, R, S, A)
    cells = {f'{n}x{f}': score_block(pred, agg, step, f, nn, frac, end_frac) for n, agg, step, f, nn in eval_cells(_TRAIN_DATA)}
    secs = time.time() - t0
    print(f'tune {name} origin {frac:.0%}: {len(X)} windows, {secs:.0f}s', file=sys.stderr)
    return name, oi, cells, len(X), secs

def summarize(per_origin):
    """Mean over origins per cell, then over cells (all, native, summed), per horizon."""
    cells = sorted(per_origin[0])
    def mean_of(keys, k, field):
        return float(np.mean([np.mean([o[c][k][field] for o in per_origin]) for c in keys]))
    groups = {'all': cells, 'native': [c for c in cells if c.endswith('x1')], 'summed': [c for c in cells if not c.endswith('x1')]}
    out = {}
    for g, keys in groups.items():
        out[g] = {str(k): {fld: mean_of(keys, k, fld) for fld in ('mase_p50', 'pinball_p90', 'naive_mase', 'naive_pinball')}
                  for k in EVAL_HORIZONS}
    a = out['all']
    out['score'] = float(np.mean([a[str(k)]['mase_p50'] for k in EVAL_HORIZONS]) + np.mean([a[str(k)]['pinball_p90'] for k in EVAL_HORIZONS]))
    out['cells'] = {c: {str(k): {fld: float(np.mean([o[c][k][fld] for o in per_origin])) for fld in ('mase_p50', 'pinball_p90')}
                        for k in EVAL_HORIZONS} for c in cells}
    return out

def tune(train_data, names, jobs, path):
    global _TRAIN_DATA
    _TRAIN_DATA = train_data
    work = [(n, oi) for n in names for oi in range(len(ORIGINS))]
    t0 = time.time()
    if jobs > 1:
        import multiprocessing as mp
        with mp.get_context('fork').Pool(jobs) as pool:
            done = pool.map(tune_job, work, chunksize=1)
    else:
        done = [tune_job(j) for j in work]
    res = {}
    for n in names:
        runs = sorted((r for r in done if r[0] == n), key=lambda r: r[1])
        s = summarize([r[2] for r in runs])
        s.update({'about': VARIANTS[n]['about'], 'factors': list(VARIANTS[n]['factors']), 'burst': VARIANTS[n]['burst'],
                  'factor_weights': list(VARIANTS[n].get('factor_weights', (1.0,) * len(VARIANTS[n]['factors']))),
                  'windows_per_origin': [r[3] for r in runs], 'train_seconds_per_origin': [round(r[4], 1) for r in runs]})
        res[n] = s
    best = min(res, key=lambda n: res[n]['score'])
    for n, s in res.items():
        a = s['all']
        print(f'{n:20s} score {s["score"]:.4f}  MASE p50 ' + ' '.join(f'h{k}={a[str(k)]["mase_p50"]:.3f}' for k in EVAL_HORIZONS)
              + '  pinball p90 ' + ' '.join(f'h{k}={a[str(k)]["pinball_p90"]:.3f}' for k in EVAL_HORIZONS))
    print(f'best by score: {best} ({time.time() - t0:.0f}s)')
    out = {'model_version': VERSION, 'origins': list(ORIGINS), 'horizons': list(EVAL_HORIZONS), 'eval_factors': list(EVAL_FACTORS),
           'min_eval_length': MIN_EVAL_LENGTH, 'epochs': EPOCHS, 'hidden': HIDDEN, 'L': L, 'C': C, 'H': H,
           'score': 'mean over horizons of MASE p50 plus mean over horizons of pinball p90, each the mean over scored cells (series x factor) of the mean over origins',
           'best': best, 'numpy': np.__version__, 'variants': res}
    if os.path.exists(path):                 # keep results of variants not rerun this time
        with open(path) as f:
            old = json.load(f)
        if all(old.get(k) == out[k] for k in ('model_version', 'origins', 'horizons', 'eval_factors', 'epochs', 'hidden', 'L', 'C', 'H')):
            for n, s in old['variants'].items():
                out['variants'].setdefault(n, s)
            out['best'] = min(out['variants'], key=lambda n: out['variants'][n]['score'])
    with open(path, 'w') as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f'wrote {path}; best of all recorded variants: {out["best"]}')

# ---------- golden inputs (held against modelInputs() in inference/onnx-forecaster.ts) ----------

GOLDEN_PAIRS = [(300, 1), (15, 4), (600, 3), (600, 1), (60, 1), (60, 5), (1800, 1), (86400, 1), (300, 6), (15, 1), (100, 3)]

def golden_inputs(train_data):
    by = {tr['name']: tr['series'] for tr in train_data}
    hist = {
        'twitter_AMZN_last_7003': by['twitter_AMZN'][-7003:],
        'nyc_taxi_first_3001': by['nyc_taxi'][:3001],
        'servegen_m-small_client-38_all_2016_with_carried_gaps': by['servegen_language_m-small_client-38'],
        'servegen_m-large_client-142_x0.37_first_1000': by['servegen_language_m-large_client-142'][:1000] * 0.37,
        'twitter_FB_first_30_shorter_than_L': by['twitter_FB'][:30],
        'twitter_IBM_first_200_shorter_than_day_lag': by['twitter_IBM'][:200],
        'zeros_500': np.zeros(500),
        'single_value': by['twitter_FB'][100:101],
    }
    cases = []
    for iv, f in GOLDEN_PAIRS:
        step = iv * f
        for name, h in hist.items():
            agg = h if f == 1 else aggregate_ending(h, f)
            if len(agg) == 0:
                continue
            r, s, a = window(agg, len(agg) - 1, season_steps(step))
            cases.append({'history': name, 'intervalSeconds': iv, 'factor': f, 'modelIntervalSeconds': step,
                          'aggregatedLength': len(agg), 'seasonalLag': season_steps(step),
                          'recent': np.asarray(r, dtype=np.float32).astype(np.float64).tolist(),
                          'seasonal': np.asarray(s, dtype=np.float32).astype(np.float64).tolist(), 'season_available': a})
    return {'model_version': VERSION, 'inputLength': L, 'seasonalContext': C, 'horizon': H,
            'about': 'Inputs window() in inference/training/train.py builds at the last index of each history after summing it '
                     'into model intervals of `factor` caller intervals, the last ending at the last value (a remainder at the '
                     'start dropped); float32. Written by train.py; test/unit/inference/golden-inputs.test.ts holds modelInputs() to it.',
            'histories': {k: v.tolist() for k, v in hist.items()}, 'cases': cases}

# ---------- main ----------

def main():
    global L, HIDDEN, LOG_INPUTS, EPOCHS
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=os.path.join(here, '../../../shared/data'))
    ap.add_argument('--out', default=os.path.join(here, '../models'))
    ap.add_argument('--variant', default=CHOSEN, choices=sorted(VARIANTS))
    ap.add_argument('--epochs', type=int, default=EPOCHS)
    ap.add_argument('--hidden', type=int, default=HIDDEN)
    ap.add_argument('--input-length', type=int, default=L)
    ap.add_argument('--linear-inputs', action='store_true', help='skip the log1p of normalized inputs')
    ap.add_argument('--tune', action='store_true', help='rolling-origin model selection over --variants; writes only tune-results.json')
    ap.add_argument('--variants', default=','.join(VARIANTS), help='with --tune: comma-separated variant names')
    ap.add_argument('--jobs', type=int, default=2, help='with --tune: worker processes (each one BLAS thread)')
    ap.add_argument('--tune-results', default=os.path.join(here, 'tune-results.json'))
    a = ap.parse_args()
    L, HIDDEN, LOG_INPUTS, EPOCHS = a.input_length, a.hidden, not a.linear_inputs, a.epochs
    t_start = time.time()
    data = os.path.abspath(a.data)
    train_data = load_train(data)
    # The vectorised windows() must agree with window(), the function the runtime mirrors.
    for tr in train_data[:4] + train_data[-1:]:
        s, lag = tr['series'], season_steps(tr['step'])
        ts = [t for t in (0, 5, L, lag + C - 2, lag + C - 1, len(s) - H - 1) if 0 <= t < len(s)]
        R, S, A = windows(s, tr['step'], ts)
        for i, t in enumerate(ts):
            r, ss, av = window(s, t, lag)
            assert np.array_equal(R[i], r) and np.array_equal(S[i], ss) and A[i, 0] == av, (tr['name'], t)
    if a.tune:
        tune(train_data, [n.strip() for n in a.variants.split(',') if n.strip()], a.jobs, a.tune_results)
        return

    variant = VARIANTS[a.variant]
    X, Y, w = training_set(train_data, variant)
    print(f'variant {a.variant}: {len(X)} windows', file=sys.stderr)
    params = train(X, Y, w, np.random.default_rng(SEED))
    train_seconds = time.time() - t_start
    contract = {'name': 'surgeguard-forecaster', 'version': VERSION, 'intervalSeconds': INTERVALS, 'inputLength': L,
                'seasonalContext': C, 'horizon': H, 'quantiles': QUANTILES,
                'normalization': 'divide recent and seasonal inputs by mean(recent)+1, clip at 50' + (', then log1p' if LOG_INPUTS else '') + '; outputs times the same scale',
                'seasonalLag': 'a day in intervals (7 for daily data), times ceil(horizon / that)',
                'inputs': ['recent', 'seasonal', 'season_available'], 'output': 'quantiles'}
    os.makedirs(a.out, exist_ok=True)
    model_path = os.path.join(a.out, 'surgeguard-forecaster.onnx')
    export(params, model_path, contract)

    # Reference outputs: windows of TRAIN series (native and summed) plus edge cases, computed by numpy (not ONNX Runtime).
    by = {tr['name']: tr for tr in train_data}
    refs = []
    for name, f, t in (('twitter_AMZN', 1, 9000), ('nyc_taxi', 1, 5000), ('servegen_language_m-large_all-clients', 1, 1500),
                       ('servegen_language_m-large_client-61', 1, 1200), ('servegen_language_m-small_client-38', 3, 500),
                       ('twitter_FB', 6, 2000), ('servegen_multimodal_mm-image_client-12', 1, 30)):
        tr = by[name]
        s = tr['series'] if f == 1 else block_sums(tr['series'], f)
        r, ss, av = window(s, t, season_steps(tr['step'] * f))
        refs.append({'name': f'{name}x{f}@{t}', 'recent': r.tolist(), 'seasonal': ss.tolist(), 'season_available': av})
    refs.append({'name': 'zeros', 'recent': [0.0] * L, 'seasonal': [0.0] * (C + H), 'season_available': 0.0})
    for ref in refs:
        f32 = lambda v: np.array([v], dtype=np.float32).astype(np.float64)
        q = predict(params, f32(ref['recent']), f32(ref['seasonal']), np.array([[ref['season_available']]]))
        ref['quantiles'] = q[0].tolist()
    with open(os.path.join(a.out, 'reference-outputs.json'), 'w') as f:
        json.dump({'model_sha256': sha256(model_path), 'cases': refs}, f, indent=1)
        f.write('\n')
    with open(os.path.join(a.out, 'golden-inputs.json'), 'w') as f:
        json.dump(golden_inputs(train_data), f)
        f.write('\n')
    corpus = {'model_version': VERSION,
              'about': 'train: every file train.py read (paths under ../shared/data), never to be scored against this model. '
                       'never_scored_here: the series the benchmark scores; train.py never opened them.',
              'train': [{'path': tr['path'], 'sha256': tr['sha256']} for tr in train_data],
              'never_scored_here': SCORED}
    with open(os.path.join(a.out, 'training-corpus.json'), 'w') as f:
        json.dump(corpus, f, indent=1)
        f.write('\n')
    tune_res = None
    if os.path.exists(a.tune_results):
        with open(a.tune_results) as f:
            tune_res = json.load(f)
    write_card(a.out, contract, train_data, a.variant, tune_res, model_path, len(X), train_seconds)
    print(f'done in {time.time() - t_start:.0f}s (training {train_seconds:.0f}s)', file=sys.stderr)

def fmt_row(name, s, chosen):
    a = s['all']
    cells = [f'{a[str(k)]["mase_p50"]:.3f}' for k in EVAL_HORIZONS] + [f'{a[str(k)]["pinball_p90"]:.3f}' for k in EVAL_HORIZONS]
    nat = s['native']; sm = s['summed']
    mean = lambda g, fld: np.mean([g[str(k)][fld] for k in EVAL_HORIZONS])
    return (f'| {"**" + name + "**" if name == chosen else name} | ' + ' | '.join(cells) + f' | {s["score"]:.3f} | '
            f'{mean(nat, "mase_p50"):.3f} / {mean(nat, "pinball_p90"):.3f} | {mean(sm, "mase_p50"):.3f} / {mean(sm, "pinball_p90"):.3f} |')

def write_card(out, contract, train_data, variant_name, tune_res, model_path, n_windows, train_seconds):
    variant = VARIANTS[variant_name]
    lines = ['# Model card: surgeguard-forecaster ' + VERSION, '',
             'Written by `inference/training/train.py`; do not edit by hand.', '',
             '## What it is', '',
             f'A multi-quantile MLP (2 hidden layers of {HIDDEN} ReLU units) trained with numpy/Adam on pinball loss for {EPOCHS} epochs, '
             f'seed {SEED}. Inputs: the last {L} intervals, and {C + H} intervals one season earlier (aligned with the last '
             f'{C} inputs and the {H} forecast steps) with a flag saying whether that history exists. Output: quantiles '
             f'{QUANTILES} for each of the next {H} intervals.', '',
             f'Variant `{variant_name}`: {variant["about"]}. Trained on {n_windows} windows of the whole of every training series; '
             'total weight per series: ' + ', '.join(f'{w:g} summed x{f}' if f > 1 else f'{w:g} native'
                                                      for f, w in zip(variant['factors'], variant.get('factor_weights', (1.0,) * len(variant['factors'])))) +
             ' (shared by all block alignments and windows).', '',
             '## Contract (ONNX metadata `surgeguard.contract`)', '', '```json', json.dumps(contract, indent=1, sort_keys=True), '```', '',
             '## Training corpus', '',
             'Disjoint by series from everything the benchmark scores: the model was trained on the whole of each file below '
             'and nothing else (also listed, machine-readable, in `training-corpus.json`). Paths are under `../shared/data`; '
             'an empty value in a ServeGen file is no data and carries the previous value.', '',
             '| series | file | interval s | intervals | sha256 |', '|---|---|---|---|---|']
    lines += [f'| {tr["name"]} | `{tr["path"]}` | {tr["step"]:g} | {len(tr["series"])} | `{tr["sha256"]}` |' for tr in train_data]
    lines += ['', '## Never read (the benchmark scores these)', '',
              'train.py refuses to open these files: not for training, normalisation or model selection. ServeGen totals and '
              'their clients are parts of each other, so ServeGen is split by model pool (m-large, m-small and mm-image train; '
              'm-mid and deepseek-r1 are scored).', '']
    lines += [f'- `{p}`' for p in SCORED]
    lines += ['', '## Model selection (`train.py --tune`, rolling origin inside the training series)', '']
    if tune_res is None:
        lines += ['No `inference/training/tune-results.json`: run `train.py --tune`.', '']
    else:
        res = tune_res['variants']
        lines += [f'Origins at {", ".join(f"{o:.0%}" for o in tune_res["origins"])} of each TRAIN series (on multiples of {ALIGN} intervals). '
                  'For each origin a model is trained (same seed, epochs and size as the shipped one) on windows whose targets lie '
                  'before it, and scored on forecasts made from the origin to the next one (the last block runs to the end). '
                  f'Scored cells: every TRAIN series at its own interval (x1) and summed x3 and x6, when at least {tune_res["min_eval_length"]} '
                  f'intervals long ({len(next(iter(res.values()))["cells"])} cells; mm-image is too short at 144). '
                  'MASE of p50 and pinball loss of p90, both divided by the seasonal-naive MAE (lag one day) before the origin; '
                  'mean over origins, then over cells. Score = mean MASE p50 + mean pinball p90 over horizons 1, 2, 4, 12; lowest wins.', '',
                  '| variant | MASE p50 h1 | h2 | h4 | h12 | pinball p90 h1 | h2 | h4 | h12 | score | x1 only: MASE / pinball | x3, x6: MASE / pinball |',
                  '|---|---|---|---|---|---|---|---|---|---|---|---|']
        for n in sorted(res, key=lambda n: res[n]['score']):
            lines.append(fmt_row(n, res[n], variant_name))
        nv = next(iter(res.values()))['all']
        lines.append('| naive (last value as p50 and p90) | ' + ' | '.join(f'{nv[str(k)]["naive_mase"]:.3f}' for k in EVAL_HORIZONS) + ' | '
                     + ' | '.join(f'{nv[str(k)]["naive_pinball"]:.3f}' for k in EVAL_HORIZONS) + ' | | | |')
        lines += [''] + [f'- `{n}`: {res[n]["about"]}.' for n in sorted(res)]
        lines += ['', f'Best by score: `{tune_res["best"]}`; shipped: `{variant_name}`.', '',
                  f'Per series (shipped variant, mean over origins; MASE p50 / pinball p90):', '',
                  '| cell | ' + ' | '.join(f'h{k}' for k in EVAL_HORIZONS) + ' |', '|---|' + '---|' * len(EVAL_HORIZONS)]
        if variant_name in res:
            for c, r in res[variant_name]['cells'].items():
                series, f = c.rsplit('x', 1)
                lines.append(f'| {series} x{f} | ' + ' | '.join(f'{r[str(k)]["mase_p50"]:.3f} / {r[str(k)]["pinball_p90"]:.3f}' for k in EVAL_HORIZONS) + ' |')
        lines.append('')
    lines += ['These numbers are in-sample for model selection only. Out-of-sample results are the benchmark\'s, on the series '
              'listed under "Never read".', '',
              '## What differs across machines', '',
              f'Trained here with Python {platform.python_version()}, numpy {np.__version__} (BLAS: {blas_name()}), onnx {onnx.__version__}, '
              f'on {cpu_name()} with one BLAS thread (train.py forces `OMP_NUM_THREADS=1` and friends before numpy loads). '
              'On one machine, runs are identical bit for bit. Another numpy/BLAS build, another CPU (a different SIMD kernel, '
              'e.g. AVX2 vs AVX-512) or more BLAS threads changes the order of floating-point sums, so the last bits of the '
              'weights differ, those differences grow over the epochs, and the model file, its sha256 and the reference outputs '
              'change slightly (the forecasts stay close; the test compares ONNX Runtime with this file\'s own reference outputs). '
              'The golden inputs do not depend on the machine: they are copies and left-to-right sums of the data (one history '
              'scaled by 0.37), with no BLAS involved.', '',
              'To reproduce:', '', '```sh',
              'python3 -m venv ~/.cache/surgeguard/py/venv && ~/.cache/surgeguard/py/venv/bin/pip install -r inference/training/requirements.txt',
              '~/.cache/surgeguard/py/venv/bin/python inference/training/train.py --tune      # model selection, writes tune-results.json',
              '~/.cache/surgeguard/py/venv/bin/python inference/training/train.py             # the model and everything beside it',
              'node --test \'test/unit/inference/*.test.ts\'', '```', '',
              'Data: `../shared/data` as described in its README (the sha256 of each file is above).', '',
              f'Model file sha256: `{sha256(model_path)}`', '']
    with open(os.path.join(out, 'MODEL_CARD.md'), 'w') as f:
        f.write('\n'.join(lines))

def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return f'{platform.machine()} ({line.split(":", 1)[1].strip()})'
    except OSError:
        pass
    return platform.machine()

def blas_name():
    try:
        cfg = np.show_config(mode='dicts')
        b = cfg['Build Dependencies']['blas']
        return f'{b.get("name")} {b.get("version")}'
    except Exception:
        return 'unknown'

if __name__ == '__main__':
    main()
