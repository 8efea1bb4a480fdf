#!/usr/bin/env python3
"""Example Pulse agent: counts the words of input.text.

Protocol of the local executor: the task input arrives as JSON on stdin; print the result as
JSON on stdout; anything on stderr is kept as the attempt's logs; exit non-zero to fail.
"""
import collections
import json
import sys


def main() -> int:
    task = json.load(sys.stdin)
    text = task.get("text")
    if not isinstance(text, str):
        print("input.text must be a string", file=sys.stderr)
        return 1
    words = text.split()
    print(f"counted {len(words)} words", file=sys.stderr)
    top = collections.Counter(w.lower().strip(".,;:!?\"'") for w in words).most_common(3)
    json.dump({"words": len(words), "characters": len(text), "top": [w for w, _ in top]}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
