#!/usr/bin/env python3
# Record, once, which records yaz-marcdump recovers from each malformed corpus
# file, as the lower bound tests/check_corpus.c holds the reader to.
#
# Usage: tools/gen-yaz-good.py [corpus-dir]   (default tests/data/corpus)
# Writes corpus-dir/yaz-good/NAME.txt for every corpus-dir/malformed/NAME and
# prints "NAME<TAB>yaz_count<TAB>good_count" lines.
#
# A record yaz counts is "good" when yaz actually prints it (not only a
# "Premature EOF", "Bad Length" or "EOF while searching for RS" comment), its
# leader has digits at 00-04 (record length) and 12-16 (base address), and it
# has at least one field.  Each good record is one line "OFFSET<TAB>ID": the
# byte offset yaz reports for its leader, and its first 001 with spaces
# trimmed when that is non-empty printable ASCII (else ID is empty).
import json
import os
import re
import subprocess
import sys

YAZ = os.environ.get("YAZ_MARCDUMP", "yaz-marcdump")


def yaz_version():
	out = subprocess.run([YAZ, "-V"], capture_output=True, text=True)
	return out.stdout.strip().splitlines()[0]


def yaz_records(path):
	out = subprocess.run([YAZ, "-p", "-o", "json", path],
	    capture_output=True).stdout.decode("utf-8", "surrogateescape")
	recs = []
	cur = None
	buf = []

	def flush():
		if cur is None:
			return
		txt = "".join(buf).strip()
		obj = None
		if txt:
			try:
				obj = json.loads(txt, strict=False)
			except ValueError:
				obj = None
		recs.append((cur[0], cur[1], obj))

	for line in out.splitlines(True):
		m = re.match(r"<!-- Record (\d+) offset (\d+) ", line)
		if m:
			flush()
			cur = (int(m.group(1)), int(m.group(2)))
			buf = []
			continue
		if line.startswith("<!--"):
			continue
		buf.append(line)
	flush()
	return recs


def good_key(off, obj):
	if obj is None or not isinstance(obj, dict):
		return None
	ld = obj.get("leader", "")
	fields = obj.get("fields", [])
	if not re.match(r"^\d{5}$", ld[0:5]) or not re.match(r"^\d{5}$", ld[12:17]):
		return None
	if not fields:
		return None
	id001 = ""
	for f in fields:
		if "001" in f and isinstance(f["001"], str):
			v = f["001"].strip(" ")
			if re.match(r"^[\x21-\x7e]+( +[\x21-\x7e]+)*$", v):
				id001 = v
			break
	return "%d\t%s" % (off, id001)


def main():
	top = sys.argv[1] if len(sys.argv) > 1 else "tests/data/corpus"
	mal = os.path.join(top, "malformed")
	outdir = os.path.join(top, "yaz-good")
	os.makedirs(outdir, exist_ok=True)
	ver = yaz_version()
	for name in sorted(os.listdir(mal)):
		recs = yaz_records(os.path.join(mal, name))
		keys = [k for k in (good_key(off, obj) for _, off, obj in recs) if k]
		with open(os.path.join(outdir, name + ".txt"), "w") as f:
			f.write("# %s\n" % ver)
			f.write("# yaz-marcdump -p -o json malformed/%s\n" % name)
			f.write("# yaz records: %d, good: %d (rule: tools/gen-yaz-good.py)\n"
			    % (len(recs), len(keys)))
			f.write("# OFFSET<TAB>001\n")
			for k in keys:
				f.write(k + "\n")
		print("%s\t%d\t%d" % (name, len(recs), len(keys)))


if __name__ == "__main__":
	main()
