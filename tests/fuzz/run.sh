#!/bin/sh
# Runs the libFuzzer harnesses (Makefile.in: fuzz, fuzz-replay, fuzz-long,
# fuzz-merge).  sh tests/fuzz/run.sh MODE N BIN...
#   time N    each harness N seconds on its corpus; new inputs go to
#             build/fuzz/new/NAME (the corpus in the repository stays as is)
#   replay    each corpus file once, and each reproducer of a fixed finding
#             (tests/fuzz/regress/NAME, never merged away): a crash, leak
#             or abort fails
#   runs N    each harness N executions in all (fuzz-long), from its corpus
#             and build/fuzz/new/NAME: the executions of every run are added
#             up in build/fuzz/NAME.runs.done, so a run stopped (Ctrl-C, a
#             kill, a reboot) resumes with what is left; a harness already
#             at N is skipped; remove that file to start again from 0.  The
#             last run's stats are in build/fuzz/NAME.runs.log (each mode:
#             NAME.MODE.log)
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
stopped=0

# Executions a libFuzzer log shows: its final stats, else (a run killed
# before it could print them) the count of its last status line.
executed() {
	x=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "$1" | tail -1)
	[ -n "$x" ] || x=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$1" | tail -1)
	echo "${x:-0}"
}

# Adds the executions of the run whose log $2 names to $1 (NAME.runs.done).
account() {
	prev=$(cat "$1" 2>/dev/null || echo 0)
	echo $((prev + $(executed "$2"))) >"$1"
	rm -f "$1.pending"
}
# Ctrl-C reaches the harness too, which stops and prints its stats: count
# them, then stop.
trap 'stopped=1' INT TERM
for f in "$@"; do
	name=${f##*/fuzz_}
	corpus=tests/fuzz/corpus/$name
	new=$out/new/$name
	log=$out/$name.$mode.log
	mkdir -p "$corpus" "$new"
	# 72: the harness was interrupted (a signal), which is no finding
	common="-artifact_prefix=$out/$name- -timeout=10 -print_final_stats=1 -interrupted_exitcode=72"
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
		done_file=$out/$name.runs.done
		# a run that ended without being counted (killed with this
		# script): its log says how far it got
		[ -f "$done_file.pending" ] && account "$done_file" "$log"
		ran=$(cat "$done_file" 2>/dev/null || echo 0)
		if [ "$ran" -ge "$n" ]; then
			echo "== $name ($ran of $n runs already done)"
			continue
		fi
		echo "== $name ($((n - ran)) of $n runs left)"
		: >"$done_file.pending"
		"$f" $common -runs=$((n - ran)) "$new" "$corpus" >"$log" 2>&1
		rc=$?
		account "$done_file" "$log"
		echo "== $name: $(cat "$done_file") of $n runs done"
		(exit $rc) ;;
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
	if [ $stopped = 1 ] || [ $rc = 72 ]; then
		echo "== $name stopped (log $log)"
		exit 1
	fi
	if [ $rc -ne 0 ]; then
		tail -30 "$log"
		echo "== $name FAILED (exit $rc; log $log)"
		fail=1
	else
		grep -E '^(#[0-9]+.*(DONE|INITED)|stat::number_of_executed_units|MERGE-OUTER: [0-9]+ new files)' "$log" | tail -2
	fi
done
exit $fail
