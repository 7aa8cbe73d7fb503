"""Run every benchmark module in bench/ in turn: python -m bench"""
import importlib
import pkgutil
from pathlib import Path

for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_")):
    print(f"\n=== {module} ===", flush=True)
    importlib.import_module(f"bench.{module}").main()
