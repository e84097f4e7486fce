#!/usr/bin/env python3
"""
checksrc: the house rules of src/, checked by a machine.  Prints one
"file:line: reason (rule)" per violation, then a count on stderr; exits 1
when there is any, 0 when there is none.

    scripts/checksrc.py [ROOT]      ROOT: the tree holding src/ (default: ..)

Rules (the name in parentheses ends each reason):
  banned      sprintf, vsprintf, strcpy, strcat, strncpy, strncat, gets,
              atoi or strtok called anywhere in src/
  undeclared  a non-static function of src/<m>/x.c that src/<m>/x.h does not
              declare; in src/bin/*.c (mains) only main may be non-static
  unused      an exported function no other file under src/ uses (tests do
              not count: a test-only helper is static, tested by including
              the .c); exceptions are in ALLOW_UNUSED below, with reasons
  include     an #include edge the module table below does not allow
  cycle       a cycle among units (unit = x.c + x.h; A -> B when A's .c or
              .h includes B's .h)
  header      a header x.h that declares functions but has no x.c
  opening     a .c or .h whose first non-blank line does not start a comment
  spec        a "spec/<name>.md §N.N" reference in a comment that names no
              heading "N.N ..." of doc/spec/<name>.md.  Forms read:
              "spec/<name>.md §N", "<name>.md §N", "<name> spec §N",
              "<name> §N"; a bare "§N" (also "§1, §2", "§3.2-§3.7") means
              the document named last before it in the same file, or, in
              x.c, the one named last in x.h.
"""

import bisect
import os
import re
import sys

# ---- the module table: who may include whom ------------------------------
# A module may always include its own headers; an entry "m/x.h" allows that
# one header of m.  bin also sees cli: cli is what bin/cli_main.c runs.
MODULES = {
    "core":      [],
    "state":     ["core"],
    "tokenize":  ["core"],
    "translate": ["core", "tokenize"],
    "upstream":  ["core", "state"],
    "http":      ["core"],
    "app":       ["core", "state", "tokenize", "translate", "upstream", "http"],
    "routes":    ["core", "state", "tokenize", "translate", "upstream", "http",
                  "app"],
    "cli":       ["core", "state", "tokenize", "translate", "upstream", "http",
                  "app", "routes/routes.h"],
    "bin":       ["core", "state", "tokenize", "translate", "upstream", "http",
                  "app", "routes/routes.h", "cli"],
}

BANNED = ["sprintf", "vsprintf", "strcpy", "strcat", "strncpy", "strncat",
          "gets", "atoi", "strtok"]

# Exported functions that no other src/ file uses, kept on purpose: the
# fuzz harnesses and benchmarks link libgw.a (all of src/), so they cannot
# include a .c to reach a static function.  name: why it stays exported.
FUZZ = "entry point of tests/fuzz/fuzz_%s.c"
ALLOW_UNUSED = {
    "mcp_conn_init":      FUZZ % "mcp",
    "mcp_conn_feed":      FUZZ % "mcp",
    "mcp_conn_finish":    FUZZ % "mcp",
    "mcp_conn_free":      FUZZ % "mcp",
    "http_mem_io_init":   FUZZ % "request",
    "http_io_mem":        FUZZ % "request",
    "http_mem_io_free":   FUZZ % "request",
    "cfg_from_json":      FUZZ % "config",
    "tr_model_normalize": FUZZ % "preprocess",
    "tok_load":           FUZZ % "tokenize",
    "tok_encode":         FUZZ % "tokenize",
    "tok_decode":         FUZZ % "tokenize",
    "http_server_serve":  "serves one connection over any http_io: the "
                          "in-process route suite (tests/unit/test_routes.c) "
                          "drives the whole responder through it",
    "db_open_target":     "the storage config key's way in (issue 15): "
                          "until that key lands (state/db_pg.c's part) only "
                          "tests/unit/test_db.c calls it; drop this entry "
                          "then",
}

# ---- reading C ------------------------------------------------------------

LEXEME = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|'
                    r"'(?:\\.|[^'\\\n])*'", re.S)
PREPROC = re.compile(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', re.M)
ATTRIBUTE = re.compile(r'__attribute__\s*\(\(')
IDENT = re.compile(r'[A-Za-z_]\w*')
DEFINE = re.compile(r'^[ \t]*#[ \t]*define[ \t]+(\w+)((?:[^\n]*\\\n)*[^\n]*)',
                    re.M)
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)
NOT_NAMES = {"if", "while", "for", "switch", "return", "sizeof", "int",
             "void", "char", "long", "short", "unsigned", "signed", "double",
             "float", "_Static_assert", "static_assert", "__attribute__",
             "typeof", "_Alignas", "_Generic"}


def blank(s):
    """s with everything but newlines turned into spaces (offsets kept)."""
    return re.sub(r'[^\n]', ' ', s)


class Source:
    """One file of src/: its text, and views of it with parts blanked."""

    def __init__(self, root, rel):
        self.rel = rel
        with open(os.path.join(root, rel), encoding="utf-8",
                  errors="replace") as f:
            self.text = f.read()
        self.lines = [0] + [m.end() for m in re.finditer(r'\n', self.text)]
        self.comments = []          # (offset, text)
        code = []
        nocomment = []
        last = 0
        for m in LEXEME.finditer(self.text):
            tok = m.group(0)
            code.append(self.text[last:m.start()])
            nocomment.append(self.text[last:m.start()])
            if tok[0] == '/':
                self.comments.append((m.start(), tok))
                code.append(blank(tok))
                nocomment.append(blank(tok))
            else:
                code.append(tok[0] + blank(tok[1:-1]) + tok[-1])
                nocomment.append(tok)
            last = m.end()
        code.append(self.text[last:])
        nocomment.append(self.text[last:])
        self.code = "".join(code)           # no comments, no string contents
        self.nocomment = "".join(nocomment)
        self.decl = PREPROC.sub(lambda m: blank(m.group(0)), self.code)
        self.decl = strip_attributes(self.decl)
        self._items = None

    def line(self, offset):
        return bisect.bisect_right(self.lines, offset)

    def items(self):
        if self._items is None:
            self._items = toplevel(self.decl)
        return self._items

    def functions_declared(self):
        """Names of the functions this file declares or defines."""
        return {name for kind, name, _, _ in self.items()
                if kind in ("decl", "def")}


def strip_attributes(s):
    out = []
    pos = 0
    for m in ATTRIBUTE.finditer(s):
        if m.start() < pos:
            continue
        # from the outer of the two opening parentheses
        end = match_close(s, m.end() - 2, "(", ")")
        out.append(s[pos:m.start()])
        out.append(blank(s[m.start():end]))
        pos = end
    out.append(s[pos:])
    return "".join(out)


def match_close(s, i, op, cl):
    """Offset just past the bracket that closes the one at s[i]."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == op:
            depth += 1
        elif s[j] == cl:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(s)


def last_group(prefix):
    """(start of the last top-level (...) at the end of prefix) or -1."""
    p = prefix.rstrip()
    if not p.endswith(")"):
        return -1
    depth = 0
    for j in range(len(p) - 1, -1, -1):
        if p[j] == ")":
            depth += 1
        elif p[j] == "(":
            depth -= 1
            if depth == 0:
                return j
    return -1


def toplevel(s):
    """
    The top-level items of blanked code: ("def", name, static, offset) for a
    function definition, ("decl", name, static, offset) for a function
    declaration.  Types, variables and initialisers are skipped.
    """
    items = []
    start = 0
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == ";":
            decl = declared_function(s, start, i)
            if decl:
                items.append(("decl",) + decl)
            start = i + 1
        elif c == "{":
            prefix = s[start:i]
            end = match_close(s, i, "{", "}")
            grp = last_group(prefix)
            if grp >= 0 and "=" not in prefix and \
                    not re.search(r'\btypedef\b', prefix):
                m = re.search(r'([A-Za-z_]\w*)\s*$', prefix[:grp])
                if m and m.group(1) not in NOT_NAMES:
                    specs = prefix[:m.start()]
                    cut = specs.rfind(")")
                    static = re.search(r'\bstatic\b', specs[cut + 1:])
                    items.append(("def", m.group(1), bool(static),
                                  start + m.start(1)))
                    i = end
                    start = end
                    continue
            i = end
            continue
        elif c == "(":
            i = match_close(s, i, "(", ")")
            continue
        i += 1
    return items


def declared_function(s, start, end):
    chunk = s[start:end]
    if re.search(r'\btypedef\b', chunk):
        return None
    m = re.search(r'([A-Za-z_]\w*)\s*\(', chunk)
    if not m or m.group(1) in NOT_NAMES:
        return None
    if chunk[m.end():].lstrip().startswith("*"):
        return None                 # a function pointer, not a function
    if "=" in chunk[:m.start()] or "{" in chunk[:m.start()]:
        return None
    static = re.search(r'\bstatic\b', chunk[:m.start()])
    return (m.group(1), bool(static), start + m.start(1))


# ---- the rules --------------------------------------------------------------

class Report:
    def __init__(self):
        self.found = {}         # rule -> [(file, line, order found, reason)]

    def add(self, rule, rel, line, reason):
        found = self.found.setdefault(rule, [])
        found.append((rel, line, len(found), reason))

    def emit(self, order):
        """Prints rule by rule, each by file and line, and returns the count."""
        total = 0
        for rule in order:
            for rel, line, _, reason in sorted(self.found.get(rule, [])):
                print("%s:%d: %s (%s)" % (rel, line, reason, rule))
                total += 1
        return total


def module_of(rel):
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 else ""


def unit_of(rel):
    return rel[len("src/"):].rsplit(".", 1)[0]


def check_banned(files, rep):
    pat = re.compile(r'\b(%s)\s*\(' % "|".join(BANNED))
    for f in files.values():
        for m in pat.finditer(f.code):
            rep.add("banned", f.rel, f.line(m.start()),
                    "banned call %s()" % m.group(1))


def exported(f):
    return [(name, off) for kind, name, static, off in f.items()
            if kind == "def" and not static]


def check_undeclared(files, rep):
    for f in files.values():
        if not f.rel.endswith(".c"):
            continue
        if module_of(f.rel) == "bin":
            for name, off in exported(f):
                if name != "main":
                    rep.add("undeclared", f.rel, f.line(off),
                            "%s is not static (in a main file only main "
                            "may be)" % name)
            continue
        hrel = f.rel[:-2] + ".h"
        h = files.get(hrel)
        declared = h.functions_declared() if h else set()
        for name, off in exported(f):
            if name not in declared:
                rep.add("undeclared", f.rel, f.line(off),
                        "%s is not static and %s does not declare it"
                        % (name, hrel))


def check_unused(files, rep):
    # identifiers each file uses; a header's own declarations are not uses
    uses = {}
    for f in files.values():
        names = set(IDENT.findall(f.code))
        if f.rel.endswith(".h"):
            names -= {name for kind, name, _, _ in f.items()
                      if kind == "decl"}
        uses[f.rel] = names
    # a function called through a macro is used wherever the macro is
    macros = {}
    for f in files.values():
        for m in DEFINE.finditer(f.code):
            for ident in set(IDENT.findall(m.group(2))):
                macros.setdefault(ident, set()).add(m.group(1))
    for f in files.values():
        if not f.rel.endswith(".c") or module_of(f.rel) == "bin":
            continue
        own = {f.rel, f.rel[:-2] + ".h"}
        for name, off in exported(f):
            if name in ALLOW_UNUSED:
                continue
            aliases = {name} | macros.get(name, set())
            if not any(aliases & u for rel, u in uses.items()
                       if rel not in own):
                rep.add("unused", f.rel, f.line(off),
                        "%s is exported but no other file uses it (make it "
                        "static)" % name)


def resolve_include(files, f, target):
    near = os.path.normpath(os.path.join(os.path.dirname(f.rel), target))
    for rel in (near, "src/" + target):
        if rel in files:
            return rel
    return None


def allowed(src_mod, rel):
    if module_of(rel) == src_mod:
        return True
    rule = MODULES.get(src_mod)
    if rule is None:
        return False
    return module_of(rel) in rule or rel[len("src/"):] in rule


def check_includes(files, rep):
    edges = {}                      # unit -> {unit: (file, line)}
    for f in files.values():
        u = unit_of(f.rel)
        for m in INCLUDE.finditer(f.nocomment):
            rel = resolve_include(files, f, m.group(1))
            if rel is None:
                continue
            line = f.line(m.start(1))
            src_mod = module_of(f.rel)
            if not allowed(src_mod, rel):
                why = ("module %s is not in the table" % src_mod
                       if src_mod not in MODULES else
                       "%s may not include %s" % (src_mod, rel[4:]))
                rep.add("include", f.rel, line,
                        "#include \"%s\": %s" % (m.group(1), why))
            v = unit_of(rel)
            if v != u:
                where = edges.setdefault(u, {})
                if v not in where or (f.rel, line) < where[v]:
                    where[v] = (f.rel, line)
    for comp in components(edges):
        first = min(comp)
        path = shortest_cycle(edges, first, comp)
        rel, line = edges[first][path[1]]
        extra = ("" if len(comp) == len(path) - 1 else
                 " (one of %d units in a cycle: %s)"
                 % (len(comp), ", ".join(sorted(comp))))
        rep.add("cycle", rel, line,
                "include cycle %s%s" % (" -> ".join(path), extra))


def components(edges):
    """Strongly connected components with more than one unit (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    nodes = set(edges) | {v for w in edges.values() for v in w}

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return sorted(out, key=min)


def shortest_cycle(edges, start, comp):
    prev = {}
    queue = [start]
    for v in queue:
        for w in sorted(edges.get(v, {})):
            if w not in comp:
                continue
            if w == start:
                path = [start]
                while v != start:
                    path.append(v)
                    v = prev[v]
                return [start] + path[1:][::-1] + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return [start, start]


def check_headers(files, rep):
    for f in files.values():
        if f.rel.endswith(".h") and f.rel[:-2] + ".c" not in files \
                and f.functions_declared():
            rep.add("header", f.rel, 1,
                    "header without its .c (it declares functions)")


def check_opening(files, rep):
    for f in files.values():
        m = re.search(r'\S', f.text)
        if m is None or not f.text.startswith("/*", m.start()):
            off = m.start() if m else 0
            rep.add("opening", f.rel, f.line(off),
                    "does not open with a comment saying what it is")


SECTION = re.compile(r'§(\d+(?:\.\d+)*)')
SEP = r'[\s*]'


def spec_headings(root, name, cache):
    if name not in cache:
        path = os.path.join(root, "doc", "spec", name + ".md")
        if not os.path.isfile(path):
            cache[name] = None
        else:
            nums = set()
            with open(path, encoding="utf-8") as fh:
                for ln in fh:
                    m = re.match(r'#+\s+(\d+(?:\.\d+)*)\.?(?:\s|$)', ln)
                    if m:
                        nums.add(m.group(1))
            cache[name] = nums
    return cache[name]


def spec_names(root, files):
    names = set()
    d = os.path.join(root, "doc", "spec")
    if os.path.isdir(d):
        names |= {n[:-3] for n in os.listdir(d) if n.endswith(".md")}
    for f in files.values():
        for _, text in f.comments:
            names |= set(re.findall(r'(\w+)\.md' + SEP + r'*§', text))
    return names


def named_doc(before, names):
    """The document a reference names just before its §, or None."""
    m = re.search(r'(\w+)\.md' + SEP + r'*$', before)
    if m:
        return m.group(1)
    m = re.search(r'(\w+)' + SEP + r'+(?:spec' + SEP + r'+)?$', before)
    if m and m.group(1) in names:
        return m.group(1)
    return None


def spec_refs(f, names, inherited):
    """[(offset, doc or None, number, named)] and the doc named last."""
    refs = []
    doc = inherited
    for off, text in f.comments:
        for m in SECTION.finditer(text):
            named = named_doc(text[:m.start()], names)
            if named:
                doc = named
            refs.append((off + m.start(), doc, m.group(1), bool(named)))
    return refs, doc


def check_spec(root, files, rep):
    names = spec_names(root, files)
    cache = {}
    last_in = {}
    missing = {}                    # doc -> [file, line, count]
    order = sorted(files, key=lambda r: (not r.endswith(".h"), r))
    for rel in order:
        f = files[rel]
        inherited = last_in.get(rel[:-2] + ".h") if rel.endswith(".c") \
            else None
        refs, last_in[rel] = spec_refs(f, names, inherited)
        for off, doc, num, named in refs:
            line = f.line(off)
            if doc is None:
                rep.add("spec", rel, line,
                        "§%s names no spec document (write spec/<name>.md "
                        "§%s)" % (num, num))
                continue
            heads = spec_headings(root, doc, cache)
            if heads is None:
                if doc not in missing:
                    missing[doc] = [rel, line, 0]
                missing[doc][2] += 1
            elif num not in heads:
                how = "" if named else ", the document named before it"
                rep.add("spec", rel, line,
                        "§%s: no heading %s in doc/spec/%s.md (spec/%s.md%s)"
                        % (num, num, doc, doc, how))
    for doc, (rel, line, count) in missing.items():
        rep.add("spec", rel, line,
                "spec/%s.md: doc/spec/%s.md does not exist (%d references "
                "unchecked)" % (doc, doc, count))


def load(root):
    files = {}
    for d, dirs, names in os.walk(os.path.join(root, "src")):
        dirs.sort()
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                rel = os.path.relpath(os.path.join(d, n), root)
                rel = rel.replace(os.sep, "/")
                files[rel] = Source(root, rel)
    return files


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    root = argv[1] if len(argv) > 1 else os.path.dirname(here)
    if not os.path.isdir(os.path.join(root, "src")):
        sys.stderr.write("checksrc: no src/ under %s\n" % root)
        return 2
    files = load(root)
    rep = Report()
    check_banned(files, rep)
    check_undeclared(files, rep)
    check_unused(files, rep)
    check_includes(files, rep)
    check_headers(files, rep)
    check_opening(files, rep)
    check_spec(root, files, rep)
    total = rep.emit(["banned", "undeclared", "unused", "include", "cycle",
                      "header", "opening", "spec"])
    sys.stderr.write("checksrc: %d violation%s in %d files\n"
                     % (total, "" if total == 1 else "s", len(files)))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
