#!/usr/bin/python3
"""The float control of a preset's training run: what one bit per weight costs.

Reads the two finished checkpoints of one preset, the 1-bit run (train.py, ckpt.pt) and the float
run (train.py --float, ckpt-float.pt, same data, seed and steps), scores both on the same fixed
batches of the training text (their own generator seed, so no run's data order is reused), takes
the float run's greedy accuracy (eval-results-float.json, written by train.py --float), and writes
<package>/train/float-control.json. Numbers only; nothing here is shipped as a model.

Usage: /usr/bin/python3 train/float-control.py --preset small [--data DIR] [--batches 40]
"""
import argparse
import json
import os
import sys

import train  # parses --preset / --threads from sys.argv before torch loads (see train._pre_args)

import torch
import torch.nn.functional as F

FIXED_SEED = 4242


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny", choices=sorted(train.PRESETS))
    ap.add_argument("--threads", type=int)
    ap.add_argument("--data", help="the run's directory (default: the preset's package train/out)")
    ap.add_argument("--batches", type=int, default=40)
    args = ap.parse_args()
    preset = train.PRESETS[args.preset]
    pkg = os.path.normpath(os.path.join(train.HERE, "..", "..", preset["package"]))
    data = args.data or os.path.join(pkg, "train", "out")
    ev = json.load(open(os.path.join(data, "eval.json")))
    cfg = dict(train.CONFIG)
    ids = train.load_ids(os.path.join(data, "train-ids.u16"))
    T = cfg["context"]
    starts = train.line_starts(ids, ev["newlineId"], T + 1)
    gen = torch.Generator().manual_seed(FIXED_SEED)
    fixed = [train.batch(ids, starts, gen, preset["train"]["batch"], T) for _ in range(args.batches)]

    out = {"note": f"float control: train/train.py --preset {args.preset} --float, same data, seed and steps; "
                   "weights never binarized; not shipped. Loss: mean cross-entropy on the same fixed batches "
                   f"(generator seed {FIXED_SEED}) for both checkpoints (train/float-control.py)"}
    losses = {}
    for name, one_bit in (("ckpt.pt", True), ("ckpt-float.pt", False)):
        path = os.path.join(data, name)
        if not os.path.exists(path):
            sys.exit(f"float-control.py: {path} does not exist; run train.py --preset {args.preset}{'' if one_bit else ' --float'} first")
        saved = torch.load(path)
        if saved.get("step", saved.get("steps")) != saved.get("steps"):
            sys.exit(f"float-control.py: {path} stopped at step {saved['step']} of {saved['steps']}; finish it with --resume")
        model = train.Model(cfg, one_bit=one_bit, seed=1)
        model.load_state_dict(saved["state"])
        model.eval()
        with torch.no_grad():
            total = sum(float(F.cross_entropy(model(x).reshape(-1, cfg["vocab"]), y.reshape(-1))) for x, y in fixed)
        losses["one_bit" if one_bit else "float"] = round(total / len(fixed), 4)
        if not one_bit:
            out["seconds"] = round(saved.get("seconds", 0))
    losses["gap"] = round(losses["one_bit"] - losses["float"], 4)
    res = os.path.join(data, "eval-results-float.json")
    if not os.path.exists(res):
        sys.exit(f"float-control.py: {res} does not exist; the float run writes it at its end (train.py --float --resume evaluates a finished checkpoint)")
    out["accuracy_torch_greedy"] = json.load(open(res))["accuracy"]
    out[f"loss_{args.batches}_fixed_batches"] = losses
    dest = os.path.join(pkg, "train", "float-control.json")
    train.atomic_write(dest, (json.dumps(out, indent=1) + "\n").encode())
    print(json.dumps(out, indent=1))
    print(f"wrote {dest}")


if __name__ == "__main__":
    main()
