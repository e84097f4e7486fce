#!/bin/sh
# Runs the libFuzzer harnesses (Makefile.in: fuzz, fuzz-replay, fuzz-long,
# fuzz-merge).  sh tests/fuzz/run.sh MODE N BIN...
#   time N    each harness N seconds on its corpus; new inputs go to
#             build/fuzz/new/NAME (the corpus in the repository stays as is)
#   replay    each corpus file once, and each reproducer of a fixed finding
#             (tests/fuzz/regress/NAME, never merged away): a crash, leak
#             or abort fails
#   runs N    each harness N executions (fuzz-long), the final stats kept
#             in build/fuzz/NAME.runs.log (each mode: NAME.MODE.log)
#   merge     the corpus plus build/fuzz/new/NAME minimised (-merge=1)
#             into the corpus
# Crash reproducers land in build/fuzz/.  Exit status 1 on any finding.
set -u
# the tokenizer tables (fuzz_tokenize, count_tokens in fuzz_gateway)
: "${COPILOT_API_SHARE_DIR:=share}"
export COPILOT_API_SHARE_DIR
mode=$1 n=$2
shift 2
out=build/fuzz
fail=0
for f in "$@"; do
	name=${f##*/fuzz_}
	corpus=tests/fuzz/corpus/$name
	new=$out/new/$name
	log=$out/$name.$mode.log
	mkdir -p "$corpus" "$new"
	common="-artifact_prefix=$out/$name- -timeout=10 -print_final_stats=1"
	case $mode in
	time)
		echo "== $name ($n s)"
		"$f" $common -max_total_time="$n" "$new" "$corpus" >"$log" 2>&1 ;;
	replay)
		echo "== $name ($(ls "$corpus" | wc -l) inputs)"
		regress=tests/fuzz/regress/$name
		[ -d "$regress" ] || regress=
		"$f" $common -runs=0 "$corpus" $regress >"$log" 2>&1 ;;
	runs)
		echo "== $name ($n runs)"
		"$f" $common -runs="$n" "$new" "$corpus" >"$log" 2>&1 ;;
	merge)
		echo "== $name (merge)"
		rm -rf "$out/merged/$name"
		mkdir -p "$out/merged/$name"
		"$f" -merge=1 "$out/merged/$name" "$corpus" "$new" >"$log" 2>&1 &&
		    rm -rf "$corpus" && mv "$out/merged/$name" "$corpus" ;;
	*)
		echo "run.sh: unknown mode $mode" >&2
		exit 2 ;;
	esac
	rc=$?
	if [ $rc -ne 0 ]; then
		tail -30 "$log"
		echo "== $name FAILED (exit $rc; log $log)"
		fail=1
	else
		grep -E '^(#[0-9]+.*(DONE|INITED)|stat::number_of_executed_units|MERGE-OUTER: [0-9]+ new files)' "$log" | tail -2
	fi
done
exit $fail
