#!/usr/bin/env python3
"""Generate common/marc8_tables.c from the Library of Congress MARC-8 tables.

Usage (from the top source directory, or `make marc8-tables`):

    python3 tools/gen_marc8.py tools/codetables.xml common/marc8_tables.c \\
        tests/data/marc8/codetables-check.txt common/marc8_rev_tables.c

tools/codetables.xml is the Library of Congress "MARC-8 to UCS/Unicode" code
table file (https://www.loc.gov/marc/specifications/codetables.xml), a work
of the U.S. government, as distributed with MARC::Charset (perl4lib/marc-perl,
marc-charset/etc/codetables.xml) and YAZ.

Besides the character tables, this writes what NFC needs for the code points
MARC-8 can produce, taken from Python's unicodedata: canonical combining
classes, full canonical decompositions and canonical composition pairs
(primary composites only, so composition exclusions are honoured).  The
Unicode version is recorded in the generated file's header.

The fourth output, common/marc8_rev_tables.c, is the other direction (UTF-8
to MARC-8, common/marc8_enc.c): for each code point the set and bytes that
encode it (Basic Latin first, then Extended Latin, the other single-byte sets
and EACC last), and the canonical decompositions of code points, as far as MARC-8 holds the
parts (full NFD when it can; else U+1EF1 goes to U+01B0 U+0323, since
Extended Latin has u-horn but no combining horn).

The third output is a test file for tests/check_marc8.c: one line per table
entry (EACC: per table row), "MARC-8 input <TAB> expected UTF-8 (NFC)".

Python standard library only.
"""

import math
import os
import sys
import unicodedata as ud
import xml.etree.ElementTree as ET

# Set index -> escape final byte; the order is the one of marc8_tables.h.
SETS = [
    (0x42, "Basic Latin (ASCII)"),
    (0x45, "Extended Latin (ANSEL)"),
    (0x67, "Greek symbols"),
    (0x62, "Subscripts"),
    (0x70, "Superscripts"),
    (0x32, "Basic Hebrew"),
    (0x4E, "Basic Cyrillic"),
    (0x51, "Extended Cyrillic"),
    (0x33, "Basic Arabic"),
    (0x34, "Extended Arabic"),
    (0x53, "Basic Greek"),
    (0x31, "EACC"),
]
NSB = 11
EACC = 11
TECH1 = {0x67: b"\x1bg", 0x62: b"\x1bb", 0x70: b"\x1bp"}

M8_COMB = 1 << 24
M8_DROP = 1 << 25
M8_NFC = 1 << 26
M8_DECOMP = 1 << 27
DECOMP_MAX = 4  # must match M8_DECOMP_MAX
EXPAND = 4      # must match M8_EXPAND


def die(msg):
    sys.exit("gen_marc8.py: " + msg)


def text(el, tag):
    t = el.findtext(tag)
    return t.strip() if t else ""


def load(path):
    """Return {final: [(marc bytes (G0 form), ucs, combining, drop)]} and C1 map."""
    sets = {f: [] for f, _ in SETS}
    c1 = {}
    root = ET.parse(path).getroot()
    for cs in root.iter("characterSet"):
        final = int(cs.get("ISOcode"), 16)
        if final not in sets:
            die("unknown character set %x" % final)
        for c in cs.iter("code"):
            marc = bytes.fromhex(text(c, "marc"))
            ucs = text(c, "ucs") or text(c, "alt")
            if not ucs:
                die("no ucs for %s in set %x" % (marc.hex(), final))
            cp = int(ucs, 16)
            comb = c.find("isCombining") is not None and \
                text(c, "isCombining") == "true"
            # The right half of a double diacritic has no UCS of its own:
            # the left half maps to the single combining double mark.
            drop = c.find("marc_left_half") is not None
            if final == 0x31:
                if len(marc) != 3:
                    die("EACC code %s not 3 bytes" % marc.hex())
                sets[final].append((marc, cp, comb, drop))
                continue
            v = marc[0]
            if 0x80 <= v <= 0x9F:
                if comb or (v in c1 and c1[v] != cp):
                    die("odd C1 entry %x" % v)
                c1[v] = cp
                continue
            if v < 0x21:
                continue        # controls and space, handled in marc8.c
            if v >= 0xA1:
                v -= 0x80       # tables list G1 sets by their G1 bytes
            if not 0x21 <= v <= 0x7E:
                die("code %s out of range in set %x" % (marc.hex(), final))
            sets[final].append((bytes([v]), cp, comb, drop))
    return sets, c1


def full_decomp(cp):
    """Full canonical decomposition (Hangul is not produced by MARC-8)."""
    d = ud.decomposition(chr(cp))
    if not d or d.startswith("<"):
        return [cp]
    out = []
    for x in d.split():
        out += full_decomp(int(x, 16))
    return out


def utf8len(cps):
    return len("".join(map(chr, cps)).encode("utf-8"))


def comp_pairs(seconds):
    """Primary composites whose second element can occur in our output."""
    pairs = {}
    for cp in range(0x110000):
        if 0xAC00 <= cp <= 0xD7A3:
            continue
        d = ud.decomposition(chr(cp))
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        if len(parts) != 2:
            continue
        # A primary composite is one NFC produces (not excluded, not a
        # non-starter decomposition).
        if ud.normalize("NFC", ud.normalize("NFD", chr(cp))) != chr(cp):
            continue
        if parts[1] not in seconds:
            continue
        pairs[(parts[0], parts[1])] = cp
    return pairs


def wrap(items, per=8, indent="\t"):
    lines = []
    for i in range(0, len(items), per):
        lines.append(indent + ", ".join(items[i:i + per]) + ",")
    return "\n".join(lines)


def right_halves(path):
    """Left half byte -> right half byte of the double diacritics (G0 form)."""
    out = {}
    for cs in ET.parse(path).getroot().iter("characterSet"):
        for c in cs.iter("code"):
            left = text(c, "marc_left_half")
            if left:
                out[bytes.fromhex(left)[0] & 0x7F] = \
                    bytes.fromhex(text(c, "marc"))[0] & 0x7F
    return out


def write_rev(sets, xml, out_path):
    """UTF-8 -> MARC-8: encodings by code point and decompositions."""
    final_idx = {f: i for i, (f, _) in enumerate(SETS)}
    order = [0x42, 0x45] + [f for f, _ in SETS if f not in (0x42, 0x45)]
    rev = {}
    for f in order:
        for marc, cp, comb, drop in sets[f]:
            if drop or cp in rev:
                continue
            rev[cp] = (final_idx[f], marc, comb)
    halves = right_halves(xml)
    def mappable(cp):
        return cp in rev or cp == 0x20

    def best(cp):
        """Decomposed as far as MARC-8 can hold it, or None."""
        parts = [ord(x) for x in ud.normalize("NFD", chr(cp))]
        if all(mappable(p) for p in parts):
            return parts
        d = ud.decomposition(chr(cp))
        if d and not d.startswith("<"):
            out = []
            for x in d.split():
                b = best(int(x, 16))
                if b is None:
                    break
                out += b
            else:
                return out
        return [cp] if mappable(cp) else None

    nfd = {}
    for cp in range(0x110000):
        if 0xAC00 <= cp <= 0xD7A3 or 0xD800 <= cp <= 0xDFFF:
            continue
        d = ud.decomposition(chr(cp))
        if not d or d.startswith("<"):
            continue
        parts = best(cp)
        if parts is None or parts == [cp] or len(parts) > DECOMP_MAX:
            continue
        nfd[cp] = parts
    o = []
    o.append("/*")
    o.append(" * common/marc8_rev_tables.c: Unicode to MARC-8 tables.")
    o.append(" *")
    o.append(" * GENERATED FILE, do not edit.  Made by tools/gen_marc8.py from the")
    o.append(" * Library of Congress code tables (tools/codetables.xml), with")
    o.append(" * `make marc8-tables`.  Decompositions from Python %s unicodedata,"
             % sys.version.split()[0])
    o.append(" * Unicode %s.  Layout: marc8_tables.h." % ud.unidata_version)
    o.append(" */")
    o.append('#include "config.h"')
    o.append("")
    o.append('#include "marc8_tables.h"')
    o.append("")
    o.append("const struct marc8_rev marc8_rev[] = {")
    for cp in sorted(rev):
        si, marc, comb = rev[cp]
        b = list(marc) + [0] * (3 - len(marc))
        right = halves.get(marc[0], 0) if comb and si == 1 else 0
        o.append("\t{ 0x%05x, %d, %d, { 0x%02x, 0x%02x, 0x%02x }, 0x%02x }," %
                 (cp, si, 1 if comb else 0, b[0], b[1], b[2], right))
    o.append("};")
    o.append("const size_t marc8_nrev = %d;" % len(rev))
    o.append("")
    o.append("const struct marc8_decomp marc8_nfd[] = {")
    for cp in sorted(nfd):
        d = nfd[cp] + [0] * (DECOMP_MAX - len(nfd[cp]))
        o.append("\t{ 0x%05x, { %s } }," %
                 (cp, ", ".join("0x%05x" % x for x in d)))
    o.append("};")
    o.append("const size_t marc8_nnfd = %d;" % len(nfd))
    with open(out_path, "w", encoding="ascii") as fp:
        fp.write("\n".join(o) + "\n")
    sys.stderr.write("gen_marc8.py: %d reverse mappings, %d decompositions\n"
                     % (len(rev), len(nfd)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    args = sys.argv[1:]
    xml = args[0] if len(args) > 0 else os.path.join(here, "codetables.xml")
    out_c = args[1] if len(args) > 1 else \
        os.path.join(top, "common", "marc8_tables.c")
    out_t = args[2] if len(args) > 2 else \
        os.path.join(top, "tests", "data", "marc8", "codetables-check.txt")
    out_r = args[3] if len(args) > 3 else \
        os.path.join(top, "common", "marc8_rev_tables.c")

    sets, c1 = load(xml)
    final_idx = {f: i for i, (f, _) in enumerate(SETS)}

    # Basic Latin must be ASCII itself: marc8.c copies it without lookup.
    for marc, cp, comb, drop in sets[0x42]:
        if cp != marc[0] or comb:
            die("Basic Latin %x is not ASCII" % marc[0])
    if len(sets[0x42]) != 94:
        die("Basic Latin is not complete")

    # Everything MARC-8 can put in the stream before normalisation; the
    # half marks U+FE20..U+FE23 with MARC8_HALF_MARKS (pymarc's mapping).
    produced = set(range(0x00, 0x80)) | {0xFFFD} | set(c1.values()) | \
        set(range(0xFE20, 0xFE24))
    for f, _ in SETS:
        for marc, cp, comb, drop in sets[f]:
            if not drop:
                produced.update(full_decomp(cp))
    for cp in produced:
        if 0x1100 <= cp <= 0x11FF or 0xA960 <= cp <= 0xA97F or \
                0xD7B0 <= cp <= 0xD7FF:
            die("conjoining jamo U+%04X needs Hangul composition" % cp)

    pairs = comp_pairs(produced)
    for (a, b), c in pairs.items():
        if ud.combining(chr(c)) != 0:
            die("composite U+%04X is not a starter" % c)
        if utf8len([c]) > utf8len([a, b]):
            die("composite U+%04X longer than its parts" % c)
    second0 = sorted({b for (a, b) in pairs if ud.combining(chr(b)) == 0})
    if second0:
        # marc8.c writes a starter out as soon as the next starter comes.
        die("starters that compose with a previous character: %s" %
            " ".join("U+%04X" % x for x in second0))
    ccc = sorted((cp, ud.combining(chr(cp))) for cp in produced
                 if ud.combining(chr(cp)) != 0)

    decomp = {}
    expand = 3

    def value(f, marc, cp, comb, drop):
        nonlocal expand
        v = cp
        if comb:
            v |= M8_COMB
        if drop:
            return v | M8_DROP
        fd = full_decomp(cp)
        if fd != [cp]:
            if len(fd) > DECOMP_MAX:
                die("decomposition of U+%04X too long" % cp)
            decomp[cp] = fd
            v |= M8_DECOMP | M8_NFC
        if ud.combining(chr(cp)) != 0 or \
                ud.combining(chr(fd[0])) != 0:
            v |= M8_NFC
        per = utf8len(fd) / len(marc)
        expand = max(expand, per)
        return v

    sb = [[0] * 94 for _ in range(NSB)]
    for f, _ in SETS[:NSB]:
        i = final_idx[f]
        for marc, cp, comb, drop in sets[f]:
            sb[i][marc[0] - 0x21] = value(f, marc, cp, comb, drop)

    for v in c1.values():
        if ud.combining(chr(v)) != 0 or full_decomp(v) != [v]:
            die("C1 mapping U+%04X is not a plain starter" % v)

    # EACC rows.
    eacc = sorted(sets[0x31])
    rows = {}
    for marc, cp, comb, drop in eacc:
        if comb or drop:
            die("combining EACC %s" % marc.hex())
        if not (0x21 <= marc[0] <= 0x7E and 0x21 <= marc[1] <= 0x7E and
                0x20 <= marc[2] <= 0x7E):
            die("EACC %s out of range" % marc.hex())
        rows.setdefault((marc[0], marc[1]), []).append(
            (marc[2], value(0x31, marc, cp, comb, drop)))
    if len(eacc) != len({m for m, _, _, _ in eacc}):
        die("duplicate EACC codes")
    if expand > EXPAND:
        die("expansion %s exceeds M8_EXPAND" % expand)

    rowidx = [0] * (94 * 94)
    rowdefs = []
    vals = []
    for n, key in enumerate(sorted(rows)):
        rowidx[(key[0] - 0x21) * 94 + (key[1] - 0x21)] = n + 1
        bits = [0, 0]
        for b2, v in sorted(rows[key]):
            k = b2 - 0x20
            bits[k >> 6] |= 1 << (k & 63)
        rowdefs.append((bits, len(vals)))
        vals += [v for _, v in sorted(rows[key])]
    if len(rows) >= 0xFFFF or len(vals) >= 1 << 32:
        die("EACC too large")

    # --- write the C file ---
    o = []
    o.append("/*")
    o.append(" * common/marc8_tables.c: MARC-8 to Unicode tables and NFC data.")
    o.append(" *")
    o.append(" * GENERATED FILE, do not edit.  Made by tools/gen_marc8.py from the")
    o.append(" * Library of Congress code tables (tools/codetables.xml) with:")
    o.append(" *")
    o.append(" *\tpython3 tools/gen_marc8.py tools/codetables.xml "
             "common/marc8_tables.c \\")
    o.append(" *\t    tests/data/marc8/codetables-check.txt")
    o.append(" *")
    o.append(" * (or `make marc8-tables`).  NFC data from Python %s unicodedata,"
             % sys.version.split()[0])
    o.append(" * Unicode %s.  Layout: marc8_tables.h." % ud.unidata_version)
    o.append(" */")
    o.append('#include "config.h"')
    o.append("")
    o.append('#include "marc8_tables.h"')
    o.append("")
    o.append("#if M8_DECOMP_MAX < %d || M8_EXPAND < %d" %
             (max([len(d) for d in decomp.values()] + [1]), math.ceil(expand)))
    o.append("#error marc8_tables.h limits are too small for these tables")
    o.append("#endif")
    o.append("")

    fin = ["-1"] * 128
    for f, i in final_idx.items():
        fin[f] = str(i)
    o.append("const int8_t marc8_set_by_final[128] = {")
    o.append(wrap(fin, 16))
    o.append("};")
    o.append("")

    o.append("const uint32_t marc8_sb[M8_NSB][94] = {")
    for f, name in SETS[:NSB]:
        o.append("\t/* 0x%02X %s */" % (f, name))
        o.append("\t{")
        o.append(wrap(["0x%08x" % v for v in sb[final_idx[f]]], 6, "\t\t"))
        o.append("\t},")
    o.append("};")
    o.append("")

    c1v = ["0"] * 32
    for b, cp in c1.items():
        c1v[b - 0x80] = "0x%08x" % cp
    o.append("const uint32_t marc8_c1[32] = {")
    o.append(wrap(c1v, 8))
    o.append("};")
    o.append("")

    o.append("const uint16_t marc8_eacc_rowidx[94 * 94] = {")
    o.append(wrap([str(x) for x in rowidx], 16))
    o.append("};")
    o.append("")
    o.append("const struct marc8_eacc_row marc8_eacc_rows[%d] = {" % len(rowdefs))
    for bits, base in rowdefs:
        o.append("\t{ { 0x%016xULL, 0x%016xULL }, %d }," %
                 (bits[0], bits[1], base))
    o.append("};")
    o.append("")
    o.append("const uint32_t marc8_eacc_val[%d] = {" % len(vals))
    o.append(wrap(["0x%08x" % v for v in vals], 6))
    o.append("};")
    o.append("")

    o.append("const uint32_t marc8_ccc[] = {")
    o.append(wrap(["0x%08x" % (cp << 8 | c) for cp, c in ccc], 6))
    o.append("};")
    o.append("const size_t marc8_nccc = %d;" % len(ccc))
    o.append("")

    o.append("const struct marc8_decomp marc8_decomp[] = {")
    for cp in sorted(decomp):
        d = decomp[cp] + [0] * (DECOMP_MAX - len(decomp[cp]))
        o.append("\t{ 0x%05x, { %s } }," %
                 (cp, ", ".join("0x%05x" % x for x in d)))
    o.append("};")
    o.append("const size_t marc8_ndecomp = %d;" % len(decomp))
    o.append("")

    keys = sorted(pairs)
    o.append("const uint64_t marc8_comp_key[] = {")
    o.append(wrap(["0x%011xULL" % (a << 21 | b) for a, b in keys], 4))
    o.append("};")
    o.append("const uint32_t marc8_comp_val[] = {")
    o.append(wrap(["0x%05x" % pairs[k] for k in keys], 8))
    o.append("};")
    o.append("const size_t marc8_ncomp = %d;" % len(keys))

    with open(out_c, "w", encoding="ascii") as fp:
        fp.write("\n".join(o) + "\n")

    # --- write the check file: MARC-8 <TAB> expected NFC UTF-8 ---
    lines = []

    def expect(entries):
        s = ""
        for marc, cp, comb, drop in entries:
            if drop:
                s += " "
            elif comb:
                s += " " + chr(cp)
            else:
                s += chr(cp)
        return ud.normalize("NFC", s).encode("utf-8")

    def body(entries, hi):
        b = b""
        for marc, cp, comb, drop in entries:
            b += bytes(x | hi for x in marc)
            if comb or drop:
                b += b" "
        return b

    for f, _ in SETS[:NSB]:
        g0 = TECH1.get(f, b"\x1b(" + bytes([f]))
        g1 = b"\x1b)" + bytes([f])
        if f == 0x42:
            g0 = b""
        if f == 0x45:
            g1 = b""
        for e in sets[f]:
            lines.append(g0 + body([e], 0) + b"\t" + expect([e]))
            if f not in TECH1:
                lines.append(g1 + body([e], 0x80) + b"\t" + expect([e]))
    for b, cp in sorted(c1.items()):
        lines.append(bytes([b]) + b"\t" + chr(cp).encode("utf-8"))
    for key in sorted(rows):
        ents = [e for e in eacc if e[0][:2] == bytes(key)]
        lines.append(b"\x1b$1" + body(ents, 0) + b"\t" + expect(ents))
        lines.append(b"\x1b$)1" + body(ents, 0x80) + b"\t" + expect(ents))
    for ln in lines:
        if ln.count(b"\t") != 1 or b"\n" in ln:
            die("bad check line %r" % ln)
    with open(out_t, "wb") as fp:
        fp.write(b"".join(ln + b"\n" for ln in lines))

    write_rev(sets, xml, out_r)
    sys.stderr.write("gen_marc8.py: %d EACC in %d rows, %d ccc, %d decomp, "
                     "%d pairs, expand %.2f, %d check lines\n" %
                     (len(vals), len(rowdefs), len(ccc), len(decomp),
                      len(keys), expand, len(lines)))


if __name__ == "__main__":
    main()
