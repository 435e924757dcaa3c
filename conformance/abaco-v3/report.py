"""Summarise a run: the failures one line each (from pytest's JUnit XML), then the tally.

usage: python3 report.py JUNIT_XML PYTEST_LOG
Each line: file::test, the outcome, the first `E` line of the failure, and — when the
suite printed an answer body (it prints the body of any answer not 200/201) — the
server's "message" after `<- server:`. The last line printed is pytest's tally.
"""
import ast
import json
import re
import sys
import xml.etree.ElementTree as ET

WIDTH = 220


def server_message(text):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("b'", 'b"')):
            try:
                body = json.loads(ast.literal_eval(line).decode("utf-8", "replace"))
            except (ValueError, SyntaxError):
                continue
            if isinstance(body, dict) and body.get("message"):
                return str(body["message"])
    return ""


def node_id(case):
    """tests/file.py::[Class::]name from a JUnit testcase (xunit1 family: it has `file`)."""
    file_, classname, name = case.get("file", ""), case.get("classname", ""), case.get("name", "")
    module = file_[:-3].replace("/", ".") if file_.endswith(".py") else ""
    tail = [c for c in classname.split(".") if c][len([m for m in module.split(".") if m]):] if module else []
    cls = tail[-1] if tail and classname.endswith("." + tail[-1]) and tail[-1][:1].isupper() else ""
    return f"{file_ or classname}::" + (f"{cls}::" if cls else "") + name


def main():
    xml_path, log_path = sys.argv[1], sys.argv[2]
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"no JUnit XML ({e})")
        root = None
    lines = []
    for case in (root.iter("testcase") if root is not None else ()):
        for kind in ("failure", "error"):
            el = case.find(kind)
            if el is None:
                continue
            text = el.text or ""
            first_e = next((l[1:].strip() for l in text.splitlines() if l.startswith("E ")), el.get("message", ""))
            said = server_message((case.findtext("system-out") or "") + "\n" + text)
            where = node_id(case)
            line = f"{kind.upper():7} {where}: {first_e}" + (f"  <- server: {said}" if said else "")
            lines.append(line[:WIDTH])
    print(f"failures and errors ({len(lines)}):")
    for line in lines:
        print("  " + line)
    tally = ""
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if re.search(r"\d+ (passed|failed|errors?|xfailed|xpassed|skipped|deselected)\b", line) and line.startswith("="):
                tally = line.strip().strip("=").strip()
    print(f"abaco-v3 conformance: {tally or 'no tally (see the pytest log)'}")


if __name__ == "__main__":
    main()
