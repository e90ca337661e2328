#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Structural checker for govgate governance packs and bundles.

A cross-check of docs/packs.md for the pack data; the validator that counts
is the C one in govgate itself. Prints one "file: problem" line per problem
and exits 1 if there was any, 0 otherwise.

usage: scripts/check-packs.py [FILE_OR_DIR ...]   (default: packs/ of this repo)
"""
import ipaddress
import json
import os
import re
import sys

NAME_RE = re.compile(r"^[a-z0-9-]+$")
PACK_KEYS = {"name", "version", "description", "framework", "controls", "rules",
             "egress_allowlist"}
PACK_REQUIRED = {"name", "version", "framework", "controls", "rules"}
FRAMEWORK_KEYS = {"id", "title", "version", "source"}
FRAMEWORK_REQUIRED = {"id", "title"}
CONTROL_KEYS = {"id", "title", "status", "reason", "needs", "evidence", "refs"}
CONTROL_REQUIRED = {"id", "title", "status"}
RULE_KEYS = {"id", "gate", "controls", "description", "match"}
RULE_REQUIRED = {"id", "gate", "controls", "match"}
BUNDLE_KEYS = {"bundle", "version", "description", "members"}
BUNDLE_REQUIRED = {"bundle", "version", "members"}
GATES = {"cmd.exec", "net.egress", "kernel.module"}
NEEDS = {"content.scan", "sandbox.create"}
PROTOCOLS = {"tcp", "udp", "any"}
SOCKET_KINDS = {"raw", "packet"}  # enum gg_sock_kind
NAME_MAX = 63   # GG_NAME_MAX (64) less the NUL
PATH_MAX = 255  # GG_PATH_MAX (256) less the NUL

# Destinations a shipped pack must never deny: loopback in both families,
# its IPv4-mapped form, and the unspecified addresses (a connect to 0.0.0.0
# or :: reaches the local host on Linux).
LOCAL_NETS = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "0.0.0.0/32", "::1/128", "::/128", "::ffff:127.0.0.0/104")]


class Checker:
    def __init__(self):
        self.problems = 0

    def report(self, path, msg):
        self.problems += 1
        print(f"{path}: {msg}")

    # ------------------------------------------------------------ helpers
    def keys(self, path, where, obj, allowed, required):
        if not isinstance(obj, dict):
            self.report(path, f"{where}: must be an object")
            return False
        for k in sorted(set(obj) - allowed):
            self.report(path, f"{where}: unknown field '{k}'")
        for k in sorted(required - set(obj)):
            self.report(path, f"{where}: missing required field '{k}'")
        return True

    def string(self, path, where, value, nonempty=True):
        if not isinstance(value, str):
            self.report(path, f"{where}: must be a string")
            return False
        if nonempty and not value.strip():
            self.report(path, f"{where}: must not be empty")
            return False
        return True

    def string_list(self, path, where, value):
        """A non-empty list of distinct non-empty strings; returns the valid items."""
        if not isinstance(value, list) or not value:
            self.report(path, f"{where}: must be a non-empty array")
            return []
        out, seen = [], set()
        for i, item in enumerate(value):
            if not self.string(path, f"{where}[{i}]", item):
                continue
            if item in seen:
                self.report(path, f"{where}: duplicate entry '{item}'")
                continue
            seen.add(item)
            out.append(item)
        return out

    def basename(self, path, where, name):
        if "/" in name or "\0" in name:
            self.report(path, f"{where}: basename '{name}' must not contain '/'")
        elif name in (".", ".."):
            self.report(path, f"{where}: '{name}' is not a file name")
        elif len(name.encode()) > NAME_MAX:
            self.report(path, f"{where}: basename '{name}' longer than {NAME_MAX} bytes")

    def abspath(self, path, where, p):
        if not p.startswith("/"):
            self.report(path, f"{where}: path '{p}' must be absolute")
        elif os.path.normpath(p) != p or p.startswith("//"):
            self.report(path, f"{where}: path '{p}' is not in canonical form")
        elif len(p.encode()) > PATH_MAX:
            self.report(path, f"{where}: path '{p}' longer than {PATH_MAX} bytes")

    # -------------------------------------------------------------- match
    def match_exec(self, path, where, m):
        if not self.keys(path, where, m, {"paths", "basenames", "identities", "disconnected", "sha256"},
                         set()):
            return
        if "disconnected" in m and m["disconnected"] is not True:
            self.report(path, f'{where}.disconnected: must be true')
        if not m:
            self.report(path, f"{where}: cmd.exec needs at least one of paths, basenames, identities")
        for p in self.string_list(path, f"{where}.paths", m["paths"]) if "paths" in m else []:
            self.abspath(path, f"{where}.paths", p)
        for p in self.string_list(path, f"{where}.identities", m["identities"]) if "identities" in m else []:
            self.abspath(path, f"{where}.identities", p)
        for n in self.string_list(path, f"{where}.basenames", m["basenames"]) if "basenames" in m else []:
            self.basename(path, f"{where}.basenames", n)
        for d in self.string_list(path, f"{where}.sha256", m["sha256"]) if "sha256" in m else []:
            if not re.fullmatch(r"[0-9a-f]{64}", d):
                self.report(path, f"{where}.sha256: '{d}' is not a SHA-256 digest (64 lower-case hex digits)")

    def match_egress(self, path, where, m):
        if not self.keys(path, where, m, {"cidrs", "ports", "protocol", "programs", "sockets"}, set()):
            return
        if "sockets" in m:
            self.match_sockets(path, where, m)
            return
        if "cidrs" not in m and "programs" not in m:
            self.report(path, f"{where}: net.egress needs cidrs, programs or sockets")
        for c in self.string_list(path, f"{where}.cidrs", m["cidrs"]) if "cidrs" in m else []:
            try:
                net = ipaddress.ip_network(c, strict=True)
            except ValueError as e:
                self.report(path, f"{where}.cidrs: invalid CIDR '{c}' ({e})")
                continue
            if "/" not in c:
                self.report(path, f"{where}.cidrs: '{c}' must carry a prefix length")
            for local in LOCAL_NETS:
                if net.version == local.version and net.overlaps(local):
                    self.report(path, f"{where}.cidrs: '{c}' covers loopback/local {local}; "
                                      "shipped packs must never deny loopback")
        if "ports" in m:
            ports = m["ports"]
            if not isinstance(ports, list) or not ports:
                self.report(path, f"{where}.ports: must be a non-empty array (omit it for all ports)")
            else:
                seen = set()
                for p in ports:
                    if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535:
                        self.report(path, f"{where}.ports: '{p}' is not an integer in 1..65535")
                    elif p in seen:
                        self.report(path, f"{where}.ports: duplicate port {p}")
                    else:
                        seen.add(p)
        if "protocol" in m and m["protocol"] not in PROTOCOLS:
            self.report(path, f"{where}.protocol: must be one of tcp, udp, any")
        for n in self.string_list(path, f"{where}.programs", m["programs"]) if "programs" in m else []:
            self.basename(path, f"{where}.programs", n)

    # egress_allowlist (docs/packs.md): the structure, CIDRs, ports and the
    # ASCII rules of names; IDNA itself is checked by the C validator only.
    LDH = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

    def allow_domain(self, path, where, d):
        name = d[2:] if d.startswith("*.") else d
        if "*" in name:
            self.report(path, f"{where}: '{d}': '*' only as the whole leftmost label")
        elif name.isascii() and (len(name) > 253 or
                                 not all(self.LDH.match(lb) for lb in name.lower().split("."))):
            self.report(path, f"{where}: '{d}' is not a host name (LDH labels of 1..63, at most 253)")

    def allowlist(self, path, doc, controls, backed):
        w = doc["egress_allowlist"]
        if not self.keys(path, "egress_allowlist", w, {"description", "controls", "allow"},
                         {"controls", "allow"}):
            return
        for cid in self.string_list(path, "egress_allowlist.controls", w["controls"]):
            if controls.get(cid, {}).get("status") != "enforced":
                self.report(path, f"egress_allowlist: control '{cid}' is not an enforced control of this pack")
            else:
                backed.add(cid)
        allow = w["allow"]
        if not isinstance(allow, list) or not allow:
            self.report(path, "egress_allowlist.allow: must be a non-empty array")
            return
        for i, e in enumerate(allow):
            where = f"egress_allowlist.allow[{i}]"
            if isinstance(e, dict):
                if not self.keys(path, where, e, {"domain", "cidr", "ports", "protocol"}, set()):
                    continue
                if ("domain" in e) == ("cidr" in e):
                    self.report(path, f"{where}: exactly one of domain and cidr")
                    continue
                self.match_egress(path, where, {k: v for k, v in e.items()
                                                if k in ("ports", "protocol")} | {"cidrs": ["1.0.0.0/8"]})
                e = e.get("domain", e.get("cidr"))
                if "cidr" in allow[i]:
                    e = e if "/" in e else e + ("/128" if ":" in e else "/32")
            if not isinstance(e, str):
                self.report(path, f"{where}: a string (domain or cidr) or an object")
            elif "/" in e or ":" in e or re.match(r"^[0-9.]+$", e):
                try:
                    ipaddress.ip_network(e, strict=True)
                except ValueError as err:
                    self.report(path, f"{where}: invalid CIDR '{e}' ({err})")
            else:
                self.allow_domain(path, where, e)

    def match_sockets(self, path, where, m):
        if len(m) != 1:
            self.report(path, f"{where}: sockets stands alone in its match (a socket has no destination when it is made)")
        seen = set()
        for k in self.string_list(path, f"{where}.sockets", m["sockets"]):
            if k not in SOCKET_KINDS:
                self.report(path, f"{where}.sockets: unknown socket kind '{k}' (expected raw or packet)")
            elif k in seen:
                self.report(path, f"{where}.sockets: duplicate socket kind '{k}'")
            seen.add(k)

    def match_module(self, path, where, m):
        if m != {"all": True} and m != {"kexec": True}:
            self.report(path, f'{where}: kernel.module match must be exactly {{"all": true}} or {{"kexec": true}}')

    # --------------------------------------------------------------- pack
    def pack(self, path, doc):
        if not self.keys(path, "pack", doc, PACK_KEYS, PACK_REQUIRED):
            return None
        stem = os.path.splitext(os.path.basename(path))[0]
        name = doc.get("name")
        if self.string(path, "name", name):
            if not NAME_RE.match(name):
                self.report(path, f"name: '{name}' must match [a-z0-9-]+")
            if name != stem:
                self.report(path, f"name: '{name}' must equal the file name stem '{stem}'")
        version = doc.get("version")
        if self.string(path, "version", version) and (re.search(r"[\s@/]", version)):
            self.report(path, f"version: '{version}' must not contain spaces, '@' or '/'")
        if "description" in doc:
            self.string(path, "description", doc["description"])

        fw = doc.get("framework")
        if "framework" in doc and self.keys(path, "framework", fw, FRAMEWORK_KEYS, FRAMEWORK_REQUIRED):
            for k in FRAMEWORK_KEYS & set(fw):
                self.string(path, f"framework.{k}", fw[k])

        controls = {}
        clist = doc.get("controls")
        if "controls" in doc:
            if not isinstance(clist, list) or not clist:
                self.report(path, "controls: must be a non-empty array")
                clist = []
            for i, c in enumerate(clist):
                where = f"controls[{i}]"
                if not self.keys(path, where, c, CONTROL_KEYS, CONTROL_REQUIRED):
                    continue
                cid = c.get("id")
                if self.string(path, f"{where}.id", cid):
                    where = f"control '{cid}'"
                    if cid in controls:
                        self.report(path, f"{where}: duplicate control id")
                    controls[cid] = c
                self.string(path, f"{where}.title", c.get("title"))
                status = c.get("status")
                if status not in ("enforced", "advisory"):
                    self.report(path, f"{where}: status must be 'enforced' or 'advisory'")
                if status == "advisory":
                    if "reason" not in c:
                        self.report(path, f"{where}: advisory control needs a reason")
                    else:
                        self.string(path, f"{where}.reason", c["reason"])
                elif status == "enforced":
                    for k in ("reason", "needs", "evidence"):
                        if k in c:
                            self.report(path, f"{where}: '{k}' is not allowed on an enforced control")
                if "needs" in c and c["needs"] not in NEEDS:
                    self.report(path, f"{where}: needs must be one of {', '.join(sorted(NEEDS))}")
                if "evidence" in c and not isinstance(c["evidence"], bool):
                    self.report(path, f"{where}: evidence must be true or false")
                if "refs" in c:
                    self.string_list(path, f"{where}.refs", c["refs"])

        rule_ids = set()
        backed = set()
        rlist = doc.get("rules")
        if "rules" in doc:
            if not isinstance(rlist, list):
                self.report(path, "rules: must be an array")
                rlist = []
            for i, r in enumerate(rlist):
                where = f"rules[{i}]"
                if not self.keys(path, where, r, RULE_KEYS, RULE_REQUIRED):
                    continue
                rid = r.get("id")
                if self.string(path, f"{where}.id", rid):
                    where = f"rule '{rid}'"
                    if rid in rule_ids:
                        self.report(path, f"{where}: duplicate rule id")
                    rule_ids.add(rid)
                if "description" in r:
                    self.string(path, f"{where}.description", r["description"])
                for cid in self.string_list(path, f"{where}.controls", r.get("controls")) if "controls" in r else []:
                    c = controls.get(cid)
                    if c is None:
                        self.report(path, f"{where}: control '{cid}' is not declared in this pack")
                    elif c.get("status") != "enforced":
                        self.report(path, f"{where}: control '{cid}' is advisory; advisory controls must have no rule")
                    else:
                        backed.add(cid)
                gate = r.get("gate")
                if gate not in GATES:
                    self.report(path, f"{where}: gate must be one of {', '.join(sorted(GATES))}")
                elif "match" in r:
                    {"cmd.exec": self.match_exec, "net.egress": self.match_egress,
                     "kernel.module": self.match_module}[gate](path, f"{where}.match", r["match"])

        if "egress_allowlist" in doc:
            self.allowlist(path, doc, controls, backed)
        for cid, c in controls.items():
            if c.get("status") == "enforced" and cid not in backed:
                self.report(path, f"control '{cid}': enforced but no rule in this pack names it")
        self.coverage(path, doc, controls)
        if isinstance(name, str) and isinstance(version, str):
            return (name, version)

    # ----------------------------------------------------------- coverage
    # Completeness conventions of the shipped packs (docs/packs.md, "Coverage
    # checks"), beyond the file format the C validator checks.
    def coverage(self, path, doc, controls):
        for cid, c in controls.items():
            reason = c.get("reason")
            if isinstance(reason, str) and reason.startswith("Domain entry"):
                if c.get("status") != "advisory":
                    self.report(path, f"control '{cid}': a domain entry must be advisory")
                if "not listed individually" not in str(c.get("title", "")):
                    self.report(path, f"control '{cid}': a domain entry's title must say which "
                                      "controls it covers and that they are 'not listed individually'")
        fw = doc.get("framework")
        fw_id = fw.get("id") if isinstance(fw, dict) else None
        if fw_id == "eu-ai-act":
            self.eu_ai_act_articles(path, controls)
        elif fw_id == "nist-ai-rmf":
            for fn in ("GV", "MP", "MS", "MG"):
                if f"AI 600-1 {fn}" not in controls and \
                        not any(re.match(rf"^{fn}-\d+\.\d+-\d{{3}}$", cid) for cid in controls):
                    self.report(path, f"AI 600-1 {fn}-* suggested actions: neither listed nor covered "
                                      f"by a domain entry 'AI 600-1 {fn}'")

    EU_AI_ACT_ARTICLES = 113

    def eu_ai_act_articles(self, path, controls):
        """Every article of Regulation (EU) 2024/1689 is listed (an id 'Art. N',
        optionally with a paragraph) or named in the title of a domain entry
        ('Arts. 28-39', 'Arts. 40-42 and 44-46', 'Art. 56', before 'not listed
        individually'). Only paragraph-level entries may share an article."""
        by_article = {}
        for cid, c in controls.items():
            m = re.match(r"^Art\. (\d+)(\(|\s|$)", cid)
            if m:
                by_article.setdefault(int(m.group(1)), []).append((cid, m.group(2) != ""))
                continue
            if not str(c.get("reason", "")).startswith("Domain entry"):
                continue
            head = str(c.get("title", "")).split("not listed individually")[0]
            for m in re.finditer(r"\bArts?\. (\d+(?:-\d+)?(?:(?:, | and )\d+(?:-\d+)?)*)", head):
                for part in re.split(r", | and ", m.group(1)):
                    lo, _, hi = part.partition("-")
                    for a in range(int(lo), int(hi or lo) + 1):
                        by_article.setdefault(a, []).append((cid, False))
        for a in range(1, self.EU_AI_ACT_ARTICLES + 1):
            if a not in by_article:
                self.report(path, f"Art. {a}: neither listed nor covered by a domain entry")
        for a, entries in sorted(by_article.items()):
            if a > self.EU_AI_ACT_ARTICLES:
                self.report(path, f"Art. {a}: the Regulation has {self.EU_AI_ACT_ARTICLES} articles")
            elif len(entries) > 1 and not all(part for _, part in entries):
                self.report(path, f"Art. {a}: covered more than once ({', '.join(cid for cid, _ in entries)})")
        return None

    # ------------------------------------------------------------- bundle
    def bundle(self, path, doc, packs):
        if not self.keys(path, "bundle", doc, BUNDLE_KEYS, BUNDLE_REQUIRED):
            return
        stem = os.path.splitext(os.path.basename(path))[0]
        name = doc.get("bundle")
        if self.string(path, "bundle", name):
            if not NAME_RE.match(name):
                self.report(path, f"bundle: '{name}' must match [a-z0-9-]+")
            if name != stem:
                self.report(path, f"bundle: '{name}' must equal the file name stem '{stem}'")
        self.string(path, "version", doc.get("version"))
        if "description" in doc:
            self.string(path, "description", doc["description"])
        for m in self.string_list(path, "members", doc.get("members")) if "members" in doc else []:
            if not re.match(r"^[a-z0-9-]+@[^\s@/]+$", m):
                self.report(path, f"members: '{m}' must be name@version")
            elif packs is not None and tuple(m.split("@")) not in packs:
                self.report(path, f"members: '{m}' does not name a pack checked in this run")


def load(chk, path):
    def no_dupes(pairs):
        obj = {}
        for k, v in pairs:
            if k in obj:
                chk.report(path, f"duplicate key '{k}'")
            obj[k] = v
        return obj
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f, object_pairs_hook=no_dupes)
    except (OSError, ValueError) as e:
        chk.report(path, f"cannot parse: {e}")
        return None


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    targets = argv[1:] or [os.path.join(here, "..", "packs")]
    files = []
    for t in targets:
        if os.path.isdir(t):
            for root, _, names in os.walk(t):
                files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".json")]
        else:
            files.append(t)
    if not files:
        print("check-packs: no .json files found", file=sys.stderr)
        return 1
    chk = Checker()
    docs = [(f, load(chk, f)) for f in sorted(files)]
    packs = set()
    bundles = []
    for f, doc in docs:
        if doc is None:
            continue
        if isinstance(doc, dict) and "bundle" in doc:
            bundles.append((f, doc))
            continue
        ref = chk.pack(f, doc)
        if ref:
            packs.add(ref)
    for f, doc in bundles:
        chk.bundle(f, doc, packs)
    if chk.problems:
        print(f"check-packs: {chk.problems} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 1
    print(f"check-packs: {len(files)} file(s) OK", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
