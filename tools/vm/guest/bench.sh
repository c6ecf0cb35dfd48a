#!/bin/sh
# make bench, inside the VM.  Memory regions first (region_bench: harvest
# cost against soft-dirty, first-write fault cost against a memfd), then
# backups (an incremental at 1% against a full; the full against qemu-img
# convert and dd), then block tracking: fio 4 KiB random writes, queue depth 32, on
# null_blk (no memory backing) and brd, each untracked, tracked by dirtybit
# with 1 and with 8 bitmaps, and under dm-era (the device-mapper change
# tracker), in one boot.  The configurations are interleaved over ROUNDS
# rounds so drift hits them alike; the summary gives medians and their
# ratios to the untracked device.  Absolute numbers are TCG's and mean
# little; the ratios are the result.
set -e
RUNTIME=${BENCH_RUNTIME:-10}
ROUNDS=${BENCH_ROUNDS:-3}	# order rotates over three patterns
out=/tmp/bench.results
: >"$out"

modprobe brd rd_nr=2 rd_size=262144	# ram0: a target; ram1: dm-era metadata
modprobe null_blk nr_devices=1 gb=1
modprobe dm-era
modprobe dirtybit

# The median of a space-separated list, for the summaries' awk programs.
AWK_MEDIAN='
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}'

# fio's terse v3 output: write IOPS is field 49, its completion latency
# percentiles fields 59-78 ("99.000000%=USEC").
run_fio() {
	fio --name=bench --filename="$1" --rw=randwrite --bs=4k --iodepth=32 \
		--ioengine=libaio --direct=1 --size=256M --norandommap --randrepeat=0 \
		--time_based --ramp_time=2 --runtime="$RUNTIME" \
		--output-format=terse --terse-version=3 |
		awk -F';' '{ p99 = 0
			for (i = 59; i <= 78; i++) if ($i ~ /^99\.000000%=/) { split($i, a, "="); p99 = a[2] }
			print $49, p99 }'
}

era_create() {
	dd if=/dev/zero of=/dev/ram1 bs=1M count=8 oflag=direct 2>/dev/null
	sectors=$(blockdev --getsz "$1")
	DM_DISABLE_UDEV=1 dmsetup create bench-era --table "0 $sectors era /dev/ram1 $1 128"
}

# One measurement of configuration $2 on device $1.
measure() {
	dev=$1 cfg=$2 target=$1
	case $cfg in
	bitmaps1 | bitmaps8)
		dirtybit attach "$dev" >/dev/null
		n=${cfg#bitmaps}
		i=0
		while [ $i -lt "$n" ]; do
			dirtybit bitmap add "$dev" "b$i" --granularity 64K
			i=$((i + 1))
		done
		;;
	dm-era)
		era_create "$dev"
		target=/dev/mapper/bench-era
		;;
	unloaded)
		rmmod dirtybit
		;;
	esac
	set -- $(run_fio "$target")
	echo "RESULT $(basename "$dev") $cfg $round $1 $2" | tee -a "$out"
	case $cfg in
	bitmaps*) dirtybit detach "$dev" ;;
	dm-era) DM_DISABLE_UDEV=1 dmsetup remove bench-era ;;
	unloaded) modprobe dirtybit ;;
	esac
}

# Backups of a $3 MiB dm-linear device (every byte random) over $1 to ext4
# on $2, timed from the shell ($EPOCHREALTIME: no process started to read
# the clock), each command after a sync and a drop of the caches:
# - dirtybit: a full backup (buffered, then --direct), then an incremental
#   (--direct) after 1% of the 64 KiB clusters were rewritten, scattered;
# - qemu-img convert -O qcow2 of the same device to the same file system,
#   as a user would run it (cache=writeback) and with O_DIRECT both sides
#   (-t none -T none, as --direct);
# - dd copying it (1 MiB, O_DIRECT both sides, conv=fsync), twice: the A/A
#   pair, which must read 1.000 +- 0.005 under icount; then with 4 MiB
#   blocks (busybox dd's buffer then spans a transparent huge page).
# ram0 to ram1 (brd both, reloaded large enough: a read and a write are
# each a memory copy on the vCPU; ram1 is filled first, so brd's pages
# exist and a write is a copy, not an allocation).  Under --icount (guest
# time = instructions, 1 ns each) that is the whole measurement; without
# it, vda to vdb too (virtio-blk over host files: the I/O runs in QEMU's
# threads), in real time and noisy.  Every copy starts on a new ext4 (made
# again, so where its blocks go does not depend on the copy before) and
# compacted memory (so the same huge pages are there for it).
BK_SRC=/dev/mapper/bkbench
BK_RAM_MB=1280		# brd disks while the backup bench runs
# Microseconds "$@" took (its output in /tmp/bk.out); a failure ends the bench.
timed() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	echo 1 >/proc/sys/vm/compact_memory
	t0=$EPOCHREALTIME
	"$@" >/tmp/bk.out 2>&1 || { echo "bench: $* failed: $(cat /tmp/bk.out)" >&2; return 1; }
	t1=$EPOCHREALTIME
	echo $(( ${t1%.*}${t1#*.} - ${t0%.*}${t0#*.} ))
}
# A new ext4 on $dst at /tmp/bk.
bk_fs() {
	! grep -q " /tmp/bk " /proc/mounts || umount /tmp/bk
	/rig/bin/mke2fs -q -F -t ext4 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/$dst
	mount -t ext4 /dev/$dst /tmp/bk
}
backup_bench() {
	src=$1 dst=$2 BK_MB=$3
	case $src in ram*)
		rmmod brd
		modprobe brd rd_nr=2 rd_size=$((BK_RAM_MB * 1024)) ;;
	esac
	DM_DISABLE_UDEV=1 dmsetup create bkbench --table "0 $((BK_MB * 2048)) linear /dev/$src 0"
	dd if=/dev/urandom of=$BK_SRC bs=1M count=$BK_MB oflag=direct 2>/dev/null
	case $dst in ram*) dd if=/dev/zero of=/dev/$dst bs=1M count=$BK_RAM_MB oflag=direct 2>/dev/null ;; esac
	mkdir -p /tmp/bk
	dirtybit attach $BK_SRC >/dev/null
	dirtybit bitmap add $BK_SRC bb --granularity 64K
	r=1
	while [ $r -le "$ROUNDS" ]; do
		bk_fs
		fullb=$(timed dirtybit backup $BK_SRC --bitmap bb --full -o /tmp/bk/full.qcow2)
		bk_fs
		full=$(timed dirtybit backup $BK_SRC --bitmap bb --full --direct -o /tmp/bk/full.qcow2)
		i=0
		while [ $i -lt $((BK_MB * 16 / 100)) ]; do	# 1% of the clusters
			dd if=/dev/urandom of=$BK_SRC bs=64k count=1 \
				seek=$(( (i * 97 + r) % (BK_MB * 16) )) oflag=direct 2>/dev/null
			i=$((i + 1))
		done
		inc=$(timed dirtybit -j backup $BK_SRC --bitmap bb --direct --backing /tmp/bk/full.qcow2 \
			-o /tmp/bk/inc.qcow2)
		ninc=$(sed 's/.*"clusters":\([0-9]*\).*/\1/' /tmp/bk.out)
		bk_fs
		qi=$(timed qemu-img convert -f raw -O qcow2 $BK_SRC /tmp/bk/qi.qcow2)
		bk_fs
		qid=$(timed qemu-img convert -f raw -O qcow2 -t none -T none $BK_SRC /tmp/bk/qi.qcow2)
		bk_fs
		dd1=$(timed dd if=$BK_SRC of=/tmp/bk/dd.raw bs=1M iflag=direct oflag=direct conv=fsync)
		bk_fs
		dd2=$(timed dd if=$BK_SRC of=/tmp/bk/dd.raw bs=1M iflag=direct oflag=direct conv=fsync)
		bk_fs
		dd4=$(timed dd if=$BK_SRC of=/tmp/bk/dd.raw bs=4M iflag=direct oflag=direct conv=fsync)
		echo "RESULT backup-$src $r $fullb $full $inc $ninc $qi $qid $dd1 $dd2 $dd4" | tee -a "$out"
		r=$((r + 1))
	done
	dirtybit detach $BK_SRC
	umount /tmp/bk
	DM_DISABLE_UDEV=1 dmsetup remove bkbench
	case $src in ram*)	# back to the block bench's disks
		rmmod brd
		modprobe brd rd_nr=2 rd_size=262144 ;;
	esac
	echo
	echo "backups of $BK_MB MiB from $src to ext4 on $dst${DIRTYBIT_ICOUNT:+ (icount: 1 µs = 1000 instructions)}:"
	echo "| what | median (ms) | ${DIRTYBIT_ICOUNT:+instructions per MiB | }ratio | target |"
	echo "|---|---|---|---|${DIRTYBIT_ICOUNT:+---|}"
	awk -v mb="$BK_MB" -v src="$src" -v icount="${DIRTYBIT_ICOUNT:-0}" "$AWK_MEDIAN"'
	function row(what, us, ratio, target) {
		printf "| %s | %.1f | %s%s | %s |\n", what, us / 1e3,
			icount ? sprintf("%.0f | ", us * 1e3 / mb) : "", ratio, target
	}
	$2 == "backup-" src { fb = fb " " $4; f = f " " $5; i = i " " $6; n = $7
		q = q " " $8; qd = qd " " $9; d1 = d1 " " $10; d2 = d2 " " $11; d4 = d4 " " $12 }
	END {
		# + 0: busybox awk compares what a function returns as strings
		fb = median(fb) + 0; f = median(f) + 0; i = median(i) + 0
		q = median(q) + 0; qd = median(qd) + 0
		d1 = median(d1) + 0; d2 = median(d2) + 0; d4 = median(d4) + 0
		qbest = q < qd ? q : qd; best = fb < f ? fb : f
		row("dirtybit full backup, buffered", fb, sprintf("%.2f× qemu-img", q / fb), "")
		row("dirtybit full backup, --direct", f, sprintf("%.2f× qemu-img -t none -T none, %.2f× dd", qd / f, d1 / f), "")
		row(sprintf("dirtybit incremental at 1%% dirty, --direct (%d clusters of 64 KiB)", n), i,
			sprintf("%.2f%% of the full", 100 * i / f), "<= 2%")
		row("qemu-img convert -O qcow2 (cache=writeback)", q, "", "")
		row("qemu-img convert -O qcow2 -t none -T none", qd, "", "")
		row("dd bs=1M iflag=direct oflag=direct conv=fsync", d1, "1.000", "")
		row("dd again (A/A)", d2, sprintf("%.3f", d2 / d1), "1.000 ± 0.005")
		row("dd bs=4M iflag=direct oflag=direct conv=fsync", d4, sprintf("%.2f× dd bs=1M", d1 / d4), "")
		printf "\nfull backup, best mode of each: %.2f× qemu-img (target >= 1.0), %.2f× dd (target >= 1.2), %.2f× dd bs=4M; incremental %.2f%% of the full (target <= 2%%)\n",
			qbest / best, d1 / best, d4 / best, 100 * i / f
		if (icount && (d2 / d1 < 0.995 || d2 / d1 > 1.005))
			printf "\nINVALID RUN: the dd A/A pair reads %.3f\n", d2 / d1
	}' "$out"
}

# Point-in-time backups (docs/BACKUPS.md): ext4 on the tracked virtio disk
# (1 GiB) under fio appending 64 KiB blocks with fdatasync at three rates;
# a full backup with --fsfreeze in passes against the old whole-copy freeze
# (--passes 1: frozen from the cut to the end of the copy), each round in
# turn.  Figures: frozen ms, total ms, pass sizes (MiB).  Real time: the
# I/O runs in QEMU's threads, so these are TCG's and noisy (±15%).
pit_bench() {
	/rig/bin/mke2fs -q -F -t ext4 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/vda
	mkdir -p /mnt/pit /tmp/pit
	mount -t ext4 /dev/vda /mnt/pit
	dirtybit attach /dev/vda >/dev/null
	dirtybit bitmap add /dev/vda pb
	for rate in 2m 8m 32m; do
		r=1
		while [ $r -le "$ROUNDS" ]; do
			rm -f /mnt/pit/w.* /tmp/pit/*
			fio --name=w --directory=/mnt/pit --filename_format='w.$jobnum' \
				--rw=write --bs=64k --size=256M --fdatasync=1 --rate=$rate \
				--time_based --runtime=600 >/dev/null 2>&1 &
			fio_pid=$!
			sleep 2
			for how in whole passes; do
				case $how in whole) extra="--passes 1" ;; *) extra= ;; esac
				json=$(dirtybit -j backup /dev/vda --bitmap pb --full -o /tmp/pit/$how.qcow2 \
					--fsfreeze /mnt/pit $extra)
				frozen=$(echo "$json" | sed 's/.*"frozen_ms":\([0-9]*\).*/\1/')
				total=$(echo "$json" | sed 's/.*"total_ms":\([0-9]*\).*/\1/')
				sizes=$(echo "$json" | grep -o '"bytes":[0-9]*,"ms"' |
					sed 's/"bytes":\([0-9]*\).*/\1/' |
					awk '{ printf "%s%.1f", (NR > 1 ? "/" : ""), $1 / 1048576 }')
				echo "RESULT pit $rate $how $r $frozen $total $sizes" | tee -a "$out"
				rm -f /tmp/pit/*
			done
			kill $fio_pid; wait $fio_pid 2>/dev/null || true
			r=$((r + 1))
		done
	done
	dirtybit detach /dev/vda
	umount /mnt/pit
	echo
	echo "point-in-time full backups of ext4 on vda (1 GiB) under fio at three rates:"
	echo "| writer | freeze | frozen ms (median) | total ms (median) | frozen share | pass sizes, MiB (last round) |"
	echo "|---|---|---|---|---|---|"
	awk "$AWK_MEDIAN"'
	$2 == "pit" { k = $3 " " $4; f[k] = f[k] " " $6; t[k] = t[k] " " $7; s[k] = $8 }
	END {
		split("2m 8m 32m", rates, " "); split("whole passes", hows, " ")
		for (i = 1; i <= 3; i++) for (j = 1; j <= 2; j++) {
			k = rates[i] " " hows[j]; mf = median(f[k]); mt = median(t[k])
			lab = rates[i]; sub(/m$/, " MiB/s", lab)
			printf "| %s | %s | %.0f | %.0f | %.1f%% | %s |\n", lab,
				hows[j] == "whole" ? "whole copy (--passes 1)" : "last pass", mf, mt,
				mt ? 100 * mf / mt : 0, s[k]
		}
	}' "$out"
}

PARTS=,${BENCH_PARTS:-region,block,backup,pit},
case $PARTS in *,region,*) region_bench; echo ;; esac
case $PARTS in *,backup,*)
	backup_bench ram0 ram1 1024; echo
	# Real time only: under icount, I/O through QEMU's threads is not timed.
	[ -n "${DIRTYBIT_ICOUNT:-}" ] || { backup_bench vda vdb 768; echo; } ;;
esac
case $PARTS in *,pit,*) pit_bench; echo ;; esac
case $PARTS in *,block,*) ;; *) exit 0 ;; esac
echo "kernel $(uname -r), $(nproc) CPUs, fio $(fio --version), runtime ${RUNTIME}s x $ROUNDS rounds"
round=1
while [ $round -le "$ROUNDS" ]; do
	for dev in /dev/nullb0 /dev/ram0; do
		# rotate the order each round
		case $round in
		1) cfgs="untracked unloaded bitmaps1 untracked-b bitmaps8 dm-era" ;;
		2) cfgs="dm-era bitmaps8 untracked-b bitmaps1 unloaded untracked" ;;
		*) cfgs="bitmaps1 untracked dm-era unloaded bitmaps8 untracked-b" ;;
		esac
		for cfg in $cfgs; do
			measure "$dev" "$cfg"
		done
	done
	round=$((round + 1))
done

echo
# Under --icount guest time is the instruction count (1 ns each): a write
# costs 1e9 / IOPS instructions, and the A/A pair (untracked twice) must read
# 1.000 +- 0.005 or the run is not valid.
echo "| device | configuration | IOPS (median) | IOPS vs untracked | p99 µs (median) | p99 vs untracked | instructions per write${DIRTYBIT_ICOUNT:+ (icount)} |"
echo "|---|---|---|---|---|---|---|"
awk -v icount="${DIRTYBIT_ICOUNT:-0}" "$AWK_MEDIAN"'
{ iops[$2 " " $3] = iops[$2 " " $3] " " $5; p99[$2 " " $3] = p99[$2 " " $3] " " $6 }
END {
	split("nullb0 ram0", devs, " ")
	n = split("untracked untracked-b unloaded bitmaps1 bitmaps8 dm-era", cfgs, " ")
	for (d = 1; d <= 2; d++) {
		bi = median(iops[devs[d] " untracked"]); bp = median(p99[devs[d] " untracked"])
		for (c = 1; c <= n; c++) {
			k = devs[d] " " cfgs[c]
			i = median(iops[k]); p = median(p99[k])
			ins = icount && i ? sprintf("%.0f (%+.0f)", 1e9 / i, 1e9 / i - 1e9 / bi) : "-"
			printf "| %s | %s | %.0f | %.3f | %.0f | %.3f | %s |\n", devs[d],
				cfgs[c] == "untracked-b" ? "untracked again (A/A)" : cfgs[c],
				i, i / bi, p, p / bp, ins
			if (cfgs[c] == "untracked-b" && (i / bi < 0.995 || i / bi > 1.005))
				aa_bad = aa_bad " " devs[d]
		}
	}
	if (aa_bad != "")
		printf "\nINVALID RUN: the A/A pair is off by more than 0.5%% on%s\n", aa_bad
}' "$out"
