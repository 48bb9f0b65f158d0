#!/usr/bin/env python3
"""Builds the offline engine's call-center language model from sentence templates.

Expands libs/stt/lm/callcenter.templates into sentences (a fixed random sample of each
template, seeded, so every build produces the same model), counts n-grams up to trigrams and
writes an ARPA model smoothed with interpolated modified Kneser-Ney (one discount per order),
expressed in back-off form. With --cpp it also writes a C++ source holding the ARPA text for
libs/stt (earshot::stt::call_center_arpa()). With --exclude FILE every generated sentence
that is word for word a sentence of FILE (a held-out test set) is dropped from the corpus.

    make_lm.py --templates callcenter.templates --arpa out.lm [--cpp out.cpp] [--corpus out.txt]
"""

import argparse
import math
import random
import re
from collections import defaultdict

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
            "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth").split()


def number_words(n):
    if n < 20:
        return ONES[n]
    t, o = divmod(n, 10)
    return TENS[t] + ("" if o == 0 else " " + ONES[o])


def ordinal_words(n):
    if n <= 20:
        return ORDINALS[n - 1]
    if n == 30:
        return "thirtieth"
    t, o = divmod(n, 10)
    return TENS[t] + " " + ORDINALS[o - 1]


def builtin_slots():
    years = []
    for y in range(1940, 2000):
        years.append("nineteen " + number_words(y - 1900))
    for y in range(2000, 2010):
        years.append("two thousand" + ("" if y == 2000 else " and " + ONES[y - 2000]))
        years.append("two thousand" + ("" if y == 2000 else " " + ONES[y - 2000]))
    for y in range(2010, 2031):
        years.append("twenty " + number_words(y - 2000))
        years.append("two thousand " + number_words(y - 2000))
    return {
        "digit": ONES[:10] + ["oh"],
        "number": [number_words(n) for n in range(1, 100)],
        "ordinal": [ordinal_words(n) for n in range(1, 32)],
        "month": "january february march april may june july august september october november december".split(),
        "weekday": "monday tuesday wednesday thursday friday saturday sunday".split(),
        "year": years,
    }


# A template is parsed into nodes: ("w", word), ("slot", name), ("alt", [seq, ...], optional).
TOKEN = re.compile(r"\(|\)|\[|\]|\||\$[a-z_]+|[^\s()\[\]|$]+")


def parse(text, where):
    tokens = TOKEN.findall(text)
    pos = 0

    def seq(closers):
        nonlocal pos
        out = []
        while pos < len(tokens) and tokens[pos] not in closers:
            t = tokens[pos]
            if t in ("(", "["):
                pos += 1
                close = ")" if t == "(" else "]"
                alts = [seq(("|", close))]
                while pos < len(tokens) and tokens[pos] == "|":
                    pos += 1
                    alts.append(seq(("|", close)))
                if pos >= len(tokens) or tokens[pos] != close:
                    raise SystemExit(f"{where}: missing '{close}'")
                pos += 1
                out.append(("alt", alts, t == "["))
            elif t in (")", "]"):
                raise SystemExit(f"{where}: unbalanced '{t}'")
            elif t.startswith("$"):
                out.append(("slot", t[1:]))
                pos += 1
            else:
                out.append(("w", t))
                pos += 1
        return out

    alts = [seq(("|",))]
    while pos < len(tokens) and tokens[pos] == "|":
        pos += 1
        alts.append(seq(("|",)))
    if pos != len(tokens):
        raise SystemExit(f"{where}: unexpected '{tokens[pos]}'")
    return ("alt", alts, False)


def expand(node, slots, rng, out):
    kind = node[0]
    if kind == "w":
        out.append(node[1])
    elif kind == "slot":
        value = slots.get(node[1])
        if value is None:
            raise SystemExit(f"unknown slot ${node[1]}")
        if isinstance(value, list):
            out.extend(rng.choice(value).split())
        else:
            expand(value, slots, rng, out)
    else:
        _, alts, optional = node
        if optional and rng.random() < 0.5:
            return
        for child in rng.choice(alts):
            expand(child, slots, rng, out)


def read_templates(path):
    slots = builtin_slots()
    templates = []
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{path}:{n}"
            m = re.match(r"^\$([a-z_]+)\s*=\s*(.+)$", line)
            if m:
                slots[m.group(1)] = parse(m.group(2), where)
            else:
                templates.append(parse(line, where))
    return slots, templates


def corpus(slots, templates, per_template, seed):
    rng = random.Random(seed)
    sentences = []
    for t in templates:
        seen = set()
        for _ in range(per_template * 4):
            words = []
            expand(t, slots, rng, words)
            s = " ".join(words)
            if s and s not in seen:
                seen.add(s)
                sentences.append(s)
            if len(seen) >= per_template:
                break
    return sentences


def count_ngrams(sentences):
    counts = [None, defaultdict(int), defaultdict(int), defaultdict(int)]
    for s in sentences:
        w = ["<s>"] + s.split() + ["</s>"]
        for i in range(1, len(w)):
            counts[1][(w[i],)] += 1
            counts[2][(w[i - 1], w[i])] += 1
            if i >= 2:
                counts[3][(w[i - 2], w[i - 1], w[i])] += 1
    return counts


def discount(counts):
    n1 = sum(1 for c in counts.values() if c == 1)
    n2 = sum(1 for c in counts.values() if c == 2)
    if n1 == 0:
        return 0.5
    return min(0.9, max(0.1, n1 / (n1 + 2.0 * n2)))


def build(sentences):
    raw = count_ngrams(sentences)
    # Kneser-Ney: lower orders count the distinct words that precede an n-gram (contexts
    # starting at <s> have none, they keep their raw count).
    cont = {1: defaultdict(int), 2: defaultdict(int), 3: raw[3]}
    for (u, v, w) in raw[3]:
        cont[2][(v, w)] += 1
    for (v, w), c in raw[2].items():
        if v == "<s>":
            cont[2][(v, w)] = c
    for (v, w) in raw[2]:
        cont[1][(w,)] += 1
    vocab = sorted({w for (w,) in raw[1]} | {"<s>"})

    probs = {}
    bows = {}
    # Unigrams: discounted continuation counts interpolated with the uniform distribution.
    d1 = discount(cont[1])
    total1 = sum(cont[1].values())
    uniform = 1.0 / len(vocab)
    gamma1 = d1 * len(cont[1]) / total1
    p1 = {}
    for w in vocab:
        c = cont[1].get((w,), 0)
        p1[w] = max(c - d1, 0) / total1 + gamma1 * uniform
    probs[1] = {(w,): p1[w] for w in vocab}

    lower = lambda w, h: None  # noqa: E731 (replaced below)
    for order in (2, 3):
        a = cont[order]
        d = discount(a)
        totals = defaultdict(int)
        types = defaultdict(int)
        for key, c in a.items():
            totals[key[:-1]] += c
            types[key[:-1]] += 1
        gamma = {h: d * types[h] / totals[h] for h in totals}
        bows[order - 1] = gamma
        p = {}
        for key, c in a.items():
            h = key[:-1]
            p[key] = max(c - d, 0) / totals[h] + gamma[h] * backoff_prob(probs, bows, key[1:])
        probs[order] = p
    return vocab, probs, bows


def backoff_prob(probs, bows, key):
    """p(key[-1] | key[:-1]) in the back-off form being built."""
    n = len(key)
    if n == 1:
        return probs[1][key]
    p = probs.get(n, {}).get(key)
    if p is not None:
        return p
    return bows.get(n - 1, {}).get(key[:-1], 1.0) * backoff_prob(probs, bows, key[1:])


def arpa_text(vocab, probs, bows):
    lines = ["\\data\\"]
    for n in (1, 2, 3):
        lines.append(f"ngram {n}={len(probs[n])}")
    for n in (1, 2, 3):
        lines.append("")
        lines.append(f"\\{n}-grams:")
        for key in sorted(probs[n]):
            lp = -99.0 if key == ("<s>",) else math.log10(probs[n][key])
            row = f"{lp:.4f} {' '.join(key)}"
            if n < 3:
                g = bows.get(n, {}).get(key)
                if g is not None and key[-1] != "</s>":
                    row += f" {math.log10(g):.4f}"
            lines.append(row)
    lines.append("")
    lines.append("\\end\\")
    return "\n".join(lines) + "\n"


def cpp_text(arpa):
    # Pieces under 60,000 characters each (compilers need only support 65,536 per literal),
    # joined once at run time.
    pieces, cur = [], []
    size = 0
    for line in arpa.splitlines(keepends=True):
        if size + len(line) > 60000 and cur:
            pieces.append("".join(cur))
            cur, size = [], 0
        cur.append(line)
        size += len(line)
    if cur:
        pieces.append("".join(cur))
    out = ["// Generated by libs/stt/lm/make_lm.py from libs/stt/lm/callcenter.templates. Do not edit.",
           "#include <array>", "#include <string>", "#include <string_view>", "",
           "namespace earshot::stt {", "", "std::string_view call_center_arpa() {",
           f"  static constexpr std::array<std::string_view, {len(pieces)}> kPieces = {{"]
    # Each piece with its length given, so that the compiler does not count the characters
    # in a constant expression (which runs out of steps on large models).
    for piece in pieces:
        out.append("      std::string_view(")
        for line in piece.splitlines():
            out.append('          "' + line.replace("\\", "\\\\").replace('"', '\\"') + '\\n"')
        out.append(f"          , {len(piece.encode('utf-8'))}),")
    out += ["  };", "  static const std::string kText = [] {", "    std::string t;",
            "    for (auto p : kPieces) t += p;", "    return t;", "  }();", "  return kText;", "}", "",
            "}  // namespace earshot::stt", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--templates", required=True)
    ap.add_argument("--arpa", required=True)
    ap.add_argument("--cpp")
    ap.add_argument("--corpus")
    ap.add_argument("--exclude", action="append", default=[])
    ap.add_argument("--per-template", type=int, default=60)
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args()

    slots, templates = read_templates(args.templates)
    sentences = corpus(slots, templates, args.per_template, args.seed)
    held_out = set()
    for path in args.exclude:
        with open(path, encoding="utf-8") as f:
            held_out |= {" ".join(l.split()) for l in f if l.strip() and not l.startswith("#")}
    # A template can produce a sentence of a held-out set word for word: such sentences are
    # left out so that no test sentence is in the corpus.
    dropped = sum(1 for s in sentences if s in held_out)
    sentences = [s for s in sentences if s not in held_out]
    vocab, probs, bows = build(sentences)
    arpa = arpa_text(vocab, probs, bows)
    with open(args.arpa, "w", encoding="utf-8") as f:
        f.write(arpa)
    if args.corpus:
        with open(args.corpus, "w", encoding="utf-8") as f:
            f.write("\n".join(sentences) + "\n")
    if args.cpp:
        text = cpp_text(arpa)
        try:
            with open(args.cpp, encoding="utf-8") as f:
                same = f.read() == text
        except OSError:
            same = False
        if not same:
            with open(args.cpp, "w", encoding="utf-8") as f:
                f.write(text)
    print(f"make_lm: {len(templates)} templates, {len(sentences)} sentences, {len(vocab)} words, "
          f"{len(probs[2])} bigrams, {len(probs[3])} trigrams; {dropped} held-out sentences left out")


if __name__ == "__main__":
    main()
