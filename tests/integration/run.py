"""Runs every tests/integration/test_*.py with unittest and prints the
summary line.  Exit status is non-zero when anything failed."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

if __name__ == "__main__":
    pattern = sys.argv[1] if len(sys.argv) > 1 else "test_*.py"
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    print("integration: %d tests, %d failures, %d errors, %d skipped"
          % (result.testsRun, len(result.failures), len(result.errors),
             len(result.skipped)))
    sys.exit(0 if result.wasSuccessful() else 1)
