#!/usr/bin/python3
"""Quantization-aware training of Bankai's true 1-bit Qwen3 models (torch 1.13, CPU).

One recipe for every shipped model: --preset picks the shape and the training defaults from
train/presets.json (tiny: packages/tiny-model, one thread; small: packages/small-model, two threads).

Every linear weight, including the token embedding and the output head, is a latent float
matrix whose forward value is sign(w) * d, with d = fp16(mean |w|) per (row, group of 128
inputs) and bit = (w >= 0): exactly the Q1_0 bytes the exporter writes. Gradients pass
straight through the sign. Norms are F32. The architecture is Qwen3 as llama.cpp computes it:
RMSNorm, per-head Q/K RMSNorm, NEOX RoPE, GQA, SwiGLU, no biases, untied output head.

Inputs (from scripts/build-data.mjs): train/out/train-ids.u16, train/out/eval.json.
Outputs in --out (default train/out): log lines on stdout, ckpt.pt (latent weights, optimizer,
data-order generator, step: written atomically every --ckpt-minutes and at the end),
tensors.bin + tensors.json (Q1_0 / F32 tensor bytes for the GGUF exporter), eval-results.json
(greedy generations, accuracy per skill and split, the model's most likely mistake per example).

Interrupted runs continue with --resume: the checkpoint holds everything the next step depends on
(weights, AdamW moments, the data-order generator's state, the loss EMA), so a resumed run takes
the same batches and, on the same machine and thread count, the same steps as an uninterrupted one.
--resume on a finished checkpoint only evaluates and exports.

Usage: /usr/bin/python3 train/train.py [--preset tiny|small] [--steps N] [--threads N] [--float] [--resume]
"""
import os
import sys

PRESETS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "presets.json")


def _pre_args():
    """--preset / --threads before torch loads: OpenBLAS and OpenMP read their thread counts at import."""
    import json as _json

    preset, threads = "tiny", None
    for i, a in enumerate(sys.argv):
        if a == "--preset" and i + 1 < len(sys.argv):
            preset = sys.argv[i + 1]
        if a == "--threads" and i + 1 < len(sys.argv):
            threads = sys.argv[i + 1]
    presets = _json.load(open(PRESETS_FILE))
    if preset not in presets:
        sys.exit(f"train.py: unknown --preset {preset!r}; {PRESETS_FILE} has {', '.join(presets)}")
    return presets, preset, int(threads or presets[preset]["train"]["threads"])


PRESETS, PRESET, THREADS = _pre_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(THREADS))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))

import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(THREADS)

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- config (train/presets.json: one shape per shipped model) -------------------------------

CONFIG = dict(PRESETS[PRESET]["config"])
GROUP = 128  # Q1_0 block: 128 weights share one fp16 scale


# ---- 1-bit weights ----------------------------------------------------------------------------


def q1_scales(w):
    """(rows, cols) latent -> (rows, cols/128, 1) fp16-rounded mean |w| per group (no grad)."""
    rows, cols = w.shape
    assert cols % GROUP == 0, f"input dim {cols} is not a multiple of {GROUP}"
    g = w.detach().view(rows, cols // GROUP, GROUP)
    return g.abs().mean(-1, keepdim=True).half().float()


def q1_forward(w):
    """sign(w) * d per (row, 128-group), straight-through gradient to the latent w."""
    rows, cols = w.shape
    d = q1_scales(w)
    g = w.view(rows, cols // GROUP, GROUP)
    wq = torch.where(g >= 0, d, -d)
    return (g + (wq - g).detach()).view(rows, cols)


class Model(torch.nn.Module):
    def __init__(self, cfg, one_bit=True, seed=0):
        super().__init__()
        self.cfg, self.one_bit = cfg, one_bit
        gen = torch.Generator().manual_seed(seed)
        E, H, KV, D, FF, V, L = (cfg[k] for k in ("n_embd", "n_head", "n_head_kv", "head_dim", "n_ff", "vocab", "n_layer"))

        def lin(rows, cols, gain=1.0):  # latent (out, in), like GGUF's (ne1, ne0)
            return torch.nn.Parameter(torch.randn(rows, cols, generator=gen) * gain / math.sqrt(cols))

        ones = lambda n: torch.nn.Parameter(torch.ones(n))
        self.token_embd = torch.nn.Parameter(torch.randn(V, E, generator=gen))  # (vocab, n_embd)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            blk = torch.nn.Module()
            blk.attn_norm = ones(E)
            blk.attn_q = lin(H * D, E)  # (n_head*head_dim, n_embd)
            blk.attn_k = lin(KV * D, E)  # (n_head_kv*head_dim, n_embd)
            blk.attn_v = lin(KV * D, E)
            blk.attn_q_norm = ones(D)
            blk.attn_k_norm = ones(D)
            blk.attn_output = lin(E, H * D, 1 / math.sqrt(2 * L))  # (n_embd, n_head*head_dim)
            blk.ffn_norm = ones(E)
            blk.ffn_gate = lin(FF, E)  # (n_ff, n_embd)
            blk.ffn_up = lin(FF, E)
            blk.ffn_down = lin(E, FF, 1 / math.sqrt(2 * L))  # (n_embd, n_ff)
            self.layers.append(blk)
        self.output_norm = ones(E)
        self.output = lin(V, E)  # (vocab, n_embd), untied
        half = D // 2
        inv = cfg["rope_base"] ** (-torch.arange(0, half, dtype=torch.float64) * 2 / D)
        ang = torch.arange(cfg["context"], dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", ang.cos().float(), persistent=False)  # (context, head_dim/2)
        self.register_buffer("sin", ang.sin().float(), persistent=False)

    def w(self, p):
        return q1_forward(p) if self.one_bit else p

    def rms(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg["rms_eps"]) * weight

    def rope(self, x):  # (B, T, heads, D), NEOX: rotate (i, i + D/2)
        T, half = x.shape[1], x.shape[-1] // 2
        c, s = self.cos[:T, None, :], self.sin[:T, None, :]
        x0, x1 = x[..., :half], x[..., half:]
        return torch.cat([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1)

    def forward(self, ids):  # (B, T) -> (B, T, vocab) logits
        cfg = self.cfg
        B, T = ids.shape
        H, KV, D = cfg["n_head"], cfg["n_head_kv"], cfg["head_dim"]
        x = F.embedding(ids, self.w(self.token_embd))  # (B, T, n_embd)
        mask = torch.full((T, T), float("-inf")).triu(1)
        for blk in self.layers:
            h = self.rms(x, blk.attn_norm)
            q = (h @ self.w(blk.attn_q).t()).view(B, T, H, D)
            k = (h @ self.w(blk.attn_k).t()).view(B, T, KV, D)
            v = (h @ self.w(blk.attn_v).t()).view(B, T, KV, D)
            q = self.rope(self.rms(q, blk.attn_q_norm)).transpose(1, 2)  # (B, H, T, D)
            k = self.rope(self.rms(k, blk.attn_k_norm)).transpose(1, 2)  # (B, KV, T, D)
            v = v.transpose(1, 2)
            k = k.repeat_interleave(H // KV, dim=1)  # q head i uses kv head i // (H/KV)
            v = v.repeat_interleave(H // KV, dim=1)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(D) + mask
            o = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * D)
            x = x + o @ self.w(blk.attn_output).t()
            h = self.rms(x, blk.ffn_norm)
            ff = F.silu(h @ self.w(blk.ffn_gate).t()) * (h @ self.w(blk.ffn_up).t())
            x = x + ff @ self.w(blk.ffn_down).t()
        return self.rms(x, self.output_norm) @ self.w(self.output).t()


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def n_one_bit(model):
    return sum(p.numel() for p in model.parameters() if p.dim() == 2)


# ---- data -------------------------------------------------------------------------------------


def load_ids(path):
    ids = torch.from_numpy(np.fromfile(path, dtype="<u2").astype(np.int64))  # (n_tokens,)
    return ids


def line_starts(ids, newline_id, span):
    starts = torch.cat([torch.zeros(1, dtype=torch.long), (ids == newline_id).nonzero().flatten() + 1])
    return starts[starts + span <= len(ids)]


def batch(ids, starts, gen, B, T):
    pick = starts[torch.randint(len(starts), (B,), generator=gen)]
    idx = pick[:, None] + torch.arange(T + 1)[None, :]
    seq = ids[idx]  # (B, T+1)
    return seq[:, :-1], seq[:, 1:]


# ---- greedy evaluation ------------------------------------------------------------------------


def token_bytes_table(tokens):
    """GPT-2 byte alphabet -> bytes per token (control tokens decode to their text)."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    u2b = {chr(c): b for b, c in zip(bs, cs)}
    out = []
    for t in tokens:
        out.append(bytes(u2b[ch] for ch in t) if all(ch in u2b for ch in t) else t.encode())
    return out


@torch.no_grad()
def greedy(model, prompts, newline_id, max_new):
    """prompts: list of id lists (same length). Returns generated id lists (stop at newline)."""
    x = torch.tensor(prompts, dtype=torch.long)
    done = torch.zeros(len(prompts), dtype=torch.bool)
    out = [[] for _ in prompts]
    for _ in range(max_new):
        if x.shape[1] >= model.cfg["context"]:
            break
        nxt = model(x)[:, -1].argmax(-1)
        for i, t in enumerate(nxt.tolist()):
            if not done[i]:
                out[i].append(t)
                if t == newline_id:
                    done[i] = True
        if bool(done.all()):
            break
        x = torch.cat([x, nxt[:, None]], 1)
    return out


@torch.no_grad()
def likely_mistake(model, prompt_ids, answer_ids, newline_id, max_new):
    """The model's most probable wrong continuation: at the answer position whose best
    non-answer token is most probable, take that token, then continue greedily."""
    seq = torch.tensor([prompt_ids + answer_ids])
    logp = model(seq)[0].log_softmax(-1)  # (T, vocab)
    best, best_at, best_tok = -1e9, 0, 0
    for j, a in enumerate(answer_ids):
        row = logp[len(prompt_ids) - 1 + j].clone()
        prefix_lp = sum(float(logp[len(prompt_ids) - 1 + i, answer_ids[i]]) for i in range(j))
        row[a] = -1e9
        t = int(row.argmax())
        if prefix_lp + float(row[t]) > best:
            best, best_at, best_tok = prefix_lp + float(row[t]), j, t
    head = answer_ids[:best_at] + [best_tok]
    if best_tok == newline_id:
        return head
    tail = greedy(model, [prompt_ids + head], newline_id, max_new)[0]
    return head + tail


def evaluate(model, ev, max_examples=None, mistakes=False):
    model.eval()
    tb = token_bytes_table(ev["tokens"])
    nl = ev["newlineId"]
    decode = lambda ids: b"".join(tb[i] for i in ids).decode("utf-8", "replace")
    acc, results = {}, {}
    for skill, sets in ev["skills"].items():
        for split, exs in sets.items():
            exs = exs[:max_examples] if max_examples else exs
            by_len = {}
            for i, e in enumerate(exs):
                by_len.setdefault(len(e["promptIds"]), []).append(i)
            gen = [None] * len(exs)
            for _, idx in sorted(by_len.items()):
                for c in range(0, len(idx), 64):
                    chunk = idx[c : c + 64]
                    outs = greedy(model, [exs[i]["promptIds"] for i in chunk], nl, 24)
                    for i, o in zip(chunk, outs):
                        gen[i] = o
            rows = []
            for e, g in zip(exs, gen):
                text = decode([t for t in g if t != nl])
                row = dict(prompt=e["prompt"], answer=e["answer"], greedy=text, correct=text == e["answer"])
                if mistakes and not row["correct"]:
                    row["mistake"] = text
                elif mistakes:
                    ans_ids = encode_answer(ev, e, text, g)
                    row["mistake"] = decode([t for t in likely_mistake(model, e["promptIds"], ans_ids, nl, 24) if t != nl])
                rows.append(row)
            acc[f"{skill}/{split}"] = sum(r["correct"] for r in rows) / max(1, len(rows))
            results[f"{skill}/{split}"] = rows
    model.train()
    return acc, results


def encode_answer(ev, e, text, gen_ids):
    """Ids of the correct answer in context: when greedy was right, they are its own ids."""
    nl = ev["newlineId"]
    assert text == e["answer"], "encode_answer is only used on correct generations"
    return [t for t in gen_ids if t != nl]


# ---- export -----------------------------------------------------------------------------------


def q1_bytes(w):
    """(rows, cols) latent -> Q1_0 bytes, exactly the forward's values:
    (rows, cols/128) blocks of 18 bytes: fp16 d (LE), then qs[16], bit j = (w >= 0), LSB first."""
    rows, cols = w.shape
    d = q1_scales(w).view(rows, cols // GROUP).numpy().astype("<f2")  # (rows, groups)
    bits = (w.detach().view(rows, cols // GROUP, GROUP) >= 0).numpy().astype(np.uint8)
    qs = np.packbits(bits.reshape(rows, cols // GROUP, 16, 8), axis=-1, bitorder="little")[..., 0]
    blocks = np.concatenate([d.view(np.uint8).reshape(rows, cols // GROUP, 2), qs], axis=-1)
    return blocks.tobytes()  # (rows, cols/128, 18)


def export_tensors(model, out_dir, train_info):
    """tensors.json: [{name, type: 'Q1_0'|'F32', shape (ne0 first), offset, nbytes}] into tensors.bin."""
    entries, blob = [], bytearray()

    def add(name, p):
        nonlocal blob
        if p.dim() == 2:
            data, ttype, shape = q1_bytes(p), "Q1_0", [p.shape[1], p.shape[0]]
        else:
            data, ttype, shape = p.detach().numpy().astype("<f4").tobytes(), "F32", [p.shape[0]]
        entries.append(dict(name=name, type=ttype, shape=shape, offset=len(blob), nbytes=len(data)))
        blob += data

    add("token_embd.weight", model.token_embd)
    for i, blk in enumerate(model.layers):
        for n in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_q_norm", "attn_k_norm",
                  "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"):
            add(f"blk.{i}.{n}.weight", getattr(blk, n))
    add("output_norm.weight", model.output_norm)
    add("output.weight", model.output)
    atomic_write(os.path.join(out_dir, "tensors.bin"), bytes(blob))
    atomic_write(os.path.join(out_dir, "tensors.json"), json.dumps(dict(config=model.cfg, train=train_info, tensors=entries), indent=1).encode())


def atomic_write(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---- main -------------------------------------------------------------------------------------


def save_checkpoint(path, model, opt, gen, step, ema, seconds, info):
    """Everything the next step depends on, written atomically (a kill leaves the previous one)."""
    state = dict(config=model.cfg, state=model.state_dict(), opt=opt.state_dict() if opt else None,
                 gen=gen.get_state() if gen is not None else None, step=step, ema=ema, seconds=seconds, **info)
    torch.save(state, path + f".tmp-{os.getpid()}")
    os.replace(path + f".tmp-{os.getpid()}", path)


def main():
    tdef = PRESETS[PRESET]["train"]
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    ap.add_argument("--steps", type=int, default=tdef["steps"])
    ap.add_argument("--batch", type=int, default=tdef["batch"])
    ap.add_argument("--lr", type=float, default=tdef["lr"])
    ap.add_argument("--threads", type=int, default=tdef["threads"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--float", action="store_true", help="float control run (no 1-bit weights)")
    ap.add_argument("--eval-every", type=int, default=0)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0, help="checkpoint at most this many minutes apart")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--stop-after", type=int, default=0, help="checkpoint and exit after this step (an interruption, for checks)")
    ap.add_argument("--data", default=os.path.join(HERE, "out"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--resume", action="store_true",
                    help="continue from ckpt.pt (a finished checkpoint is only evaluated and exported)")
    ap.add_argument("--export-only", action="store_true",
                    help="with --resume: evaluate and export the checkpoint as it is, even mid-run (a preview; not a shipped file)")
    ap.add_argument("--no-eval", action="store_true", help="skip the final greedy evaluation (no eval-results.json)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    ev = json.load(open(os.path.join(args.data, "eval.json")))
    cfg = dict(CONFIG)
    assert len(ev["tokens"]) == cfg["vocab"], "eval.json vocab does not match the preset's vocab"
    model = Model(cfg, one_bit=not args.float, seed=args.seed)
    print(f"preset {PRESET}  threads {THREADS}  params {n_params(model)}  one-bit {n_one_bit(model)}  one_bit={model.one_bit}", flush=True)
    ckpt = os.path.join(args.out, "ckpt-float.pt" if args.float else "ckpt.pt")
    info = dict(preset=PRESET, steps=args.steps, seed=args.seed, batch=args.batch, lr=args.lr)

    saved = None
    if args.resume:
        if not os.path.exists(ckpt):
            sys.exit(f"train.py: --resume but {ckpt} does not exist; start without --resume")
        saved = torch.load(ckpt)
        if saved["config"] != cfg:
            sys.exit(f"train.py: {ckpt} was trained with config {saved['config']}, not the preset's {cfg}")
        for k in ("steps", "seed", "batch", "lr"):
            if k in saved and saved[k] != info[k]:
                sys.exit(f"train.py: {ckpt} has {k}={saved[k]} but this run asks {k}={info[k]}; pass the same flags")
        model.load_state_dict(saved["state"])
    done_step = saved.get("step", args.steps) if saved else 0  # a checkpoint without a step is a finished run

    if args.export_only and not args.resume:
        sys.exit("train.py: --export-only needs --resume (it exports the checkpoint)")
    if done_step < args.steps and not args.export_only:
        ids = load_ids(os.path.join(args.data, "train-ids.u16"))
        T = cfg["context"]
        starts = line_starts(ids, ev["newlineId"], T + 1)
        gen = torch.Generator().manual_seed(args.seed)
        decay = [p for p in model.parameters() if p.dim() == 2]
        other = [p for p in model.parameters() if p.dim() != 2]
        opt = torch.optim.AdamW([dict(params=decay, weight_decay=0.01), dict(params=other, weight_decay=0.0)],
                                lr=args.lr, betas=(0.9, 0.95))
        ema, spent = None, 0.0
        if saved:
            opt.load_state_dict(saved["opt"])
            gen.set_state(saved["gen"])
            ema, spent = saved["ema"], saved["seconds"]
            print(f"resume at step {done_step} of {args.steps} ({spent:.0f}s spent)", flush=True)
        warm = 50
        t0 = time.time() - spent
        last_ckpt = time.time()
        for step in range(done_step + 1, args.steps + 1):
            lr = args.lr * (step / warm if step <= warm else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm) / (args.steps - warm))))
            for g in opt.param_groups:
                g["lr"] = lr
            x, y = batch(ids, starts, gen, args.batch, T)
            loss = F.cross_entropy(model(x).reshape(-1, cfg["vocab"]), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            ema = float(loss) if ema is None else 0.98 * ema + 0.02 * float(loss)
            if step % args.log_every == 0 or step == 1:
                print(f"step {step} loss {float(loss):.4f} ema {ema:.4f} lr {lr:.2e} {time.time() - t0:.0f}s", flush=True)
            if args.eval_every and step % args.eval_every == 0 and step < args.steps:
                acc, _ = evaluate(model, ev, max_examples=50)
                print("eval " + " ".join(f"{k}={v:.2f}" for k, v in acc.items()), flush=True)
            if step in (args.steps, args.stop_after) or time.time() - last_ckpt >= 60 * args.ckpt_minutes:
                save_checkpoint(ckpt, model, opt, gen, step, ema, time.time() - t0, info)
                last_ckpt = time.time()
            if step == args.stop_after:
                print(f"stopped after step {step} (--stop-after); continue with --resume", flush=True)
                return
        info.update(final_ema_loss=ema, seconds=round(time.time() - t0))
    else:
        if done_step < args.steps:
            info.update(steps=done_step, preview_of_steps=args.steps)
        info.update({k: saved[k] for k in ("final_ema_loss", "seconds") if k in saved})
        if "final_ema_loss" not in info and "ema" in saved:
            info.update(final_ema_loss=saved["ema"], seconds=round(saved["seconds"]))

    # the most likely mistake of every correct answer (one forward + a greedy tail each, batch 1): the
    # tiny preset records torch's; larger presets leave it to make-probes.mjs, which computes the same
    # rule with the engine (likelyMistake), much faster than a batch-1 torch forward per example
    if not args.no_eval:
        acc, results = evaluate(model, ev, mistakes=PRESETS[PRESET].get("torch_mistakes", True))
        print("final " + " ".join(f"{k}={v:.3f}" for k, v in acc.items()), flush=True)
        name = "eval-results-float.json" if args.float else "eval-results.json"
        atomic_write(os.path.join(args.out, name), json.dumps(dict(accuracy=acc, results=results), indent=1).encode())
    if not args.float:
        export_tensors(model, args.out, info)
    print("done", flush=True)


if __name__ == "__main__":
    main()
