#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The trust anchor, measurements and image signatures through the real binary, against a real TPM: a
# swtpm started here on a free port, with tpm2-tools as the independent check of what ForgeOne reports,
# keys and signatures made with the openssl CLI, and images built with umoci and run as containers.
# Root, swtpm, tpm2-tools, openssl, umoci, busybox-static and jq needed. Prints TAP. Everything it makes
# (swtpm, by pid; the temp dir; its own layer cache entries) is removed on exit, failing or not.
set -uo pipefail

src=${FORGEONE_SOURCE_ROOT:?}
ctl=${FORGEONE_BUILD_ROOT:?}/src/cli/forgeonectl

if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
for p in swtpm tpm2_nvread tpm2_pcrread openssl umoci busybox jq xxd; do
  command -v $p >/dev/null || { echo "1..0 # SKIP needs $p"; exit 77; }
done
[ -x "$ctl" ] || { echo "1..0 # SKIP $ctl not built"; exit 77; }

tmp=$(mktemp -d /tmp/test-trust-live-XXXXXX)
export FORGEONE_STATE_DIR=$tmp/state
export FORGEONE_TRUST_CONFIG=$tmp/trust.json
export FORGEONE_AUDIT_DIR=$tmp/audit
swtpm_pid=
cache_entries=()
cleanup() {
  [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null
  "$ctl" ps >/dev/null 2>&1
  for e in "${cache_entries[@]}"; do rm -rf "/var/lib/forgeone/layers/$e"; done
  for m in $(grep -o " $tmp/[^ ]*" /proc/self/mountinfo | sort -r); do umount -l "$m"; done 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

echo '{}' >"$tmp/empty.json"
if "$ctl" trust status --json --config "$tmp/empty.json" --tcti swtpm:port=1 2>/dev/null | grep -q "built without tpm2-tss"; then
  echo "1..0 # SKIP forgeonectl was built without tpm2-tss (-Dtpm=disabled)"; exit 77
fi

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do sed 's/^/# /' <<<"$l"; done; }
# check DESCRIPTION WANT_RC NEEDLE CMD...: the command exits WANT_RC and its output holds NEEDLE ("" for any).
check() {
  local d=$1 want=$2 needle=$3 out rc; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq "$want" ] && { [ -z "$needle" ] || grep -qF -- "$needle" <<<"$out"; }; then ok "$d"
  else not_ok "$d" "command: $*" "rc=$rc (want $want), want: $needle" "output: $out"; fi
}

# --- a swtpm on a free port pair (server P, control P+1)
port_free() { ! grep -qi ":$(printf '%04X' "$1") [0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
mkdir -p "$tmp/tpm"
for try in $(seq 20); do
  port=$((20000 + RANDOM % 40000))
  port_free $port && port_free $((port + 1)) || continue
  swtpm socket --tpm2 --tpmstate dir="$tmp/tpm" --server type=tcp,port=$port,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
    --pid file="$tmp/swtpm.pid" --daemon 2>"$tmp/swtpm.err" && break
done
swtpm_pid=$(cat "$tmp/swtpm.pid" 2>/dev/null)
[ -n "$swtpm_pid" ] || { echo "1..0 # SKIP swtpm did not start: $(cat "$tmp/swtpm.err")"; exit 77; }
tcti="swtpm:host=127.0.0.1,port=$port"
export TPM2TOOLS_TCTI=$tcti
for i in $(seq 50); do tpm2_getrandom 1 >/dev/null 2>&1 && break; sleep 0.1; done
idx=0x01BF0F01

# --- keys from the openssl CLI, an anchor, a configuration
cd "$tmp" || exit 1
openssl ecparam -name prime256v1 -genkey -noout -out ec.pem 2>/dev/null && openssl pkey -in ec.pem -pubout -out ec.pub &&
  openssl genpkey -algorithm ed25519 -out ed.pem && openssl pkey -in ed.pem -pubout -out ed.pub &&
  openssl ecparam -name prime256v1 -genkey -noout -out wrong.pem 2>/dev/null &&
  openssl ecparam -name prime256v1 -genkey -noout -out intruder.pem 2>/dev/null &&
  openssl pkey -in intruder.pem -pubout -out intruder.pub || { echo "Bail out! openssl failed"; exit 1; }
jq -n --rawfile ec ec.pub --rawfile ed ed.pub '{format: 1, id: "live", keys: [
    {id: "release", algorithm: "ecdsa-p256", public_key: $ec}, {id: "edkey", algorithm: "ed25519", public_key: $ed}],
  metadata: {owner: "test-trust-live"}}' >anchor.json
jq -n --arg d "$tmp" --arg t "$tcti" '{anchor: "\($d)/etc/anchor.json", tcti: $t, event_log: "\($d)/run/measure.jsonl",
  state_dir: "\($d)/trust"}' >trust.json
log=$tmp/run/measure.jsonl

# --- images: a busybox root with content of its own, so its layer is this test's alone in the cache
build_image() { # LAYOUT
  (umoci init --layout "$1" >/dev/null && umoci new --image "$1:latest" >/dev/null &&
   umoci unpack --image "$1:latest" "$1.bundle" >/dev/null 2>&1 && mkdir -p "$1.bundle/rootfs/bin" "$1.bundle/rootfs/etc" &&
   cp "$(command -v busybox)" "$1.bundle/rootfs/bin/busybox" && for a in sh echo cat; do ln -s busybox "$1.bundle/rootfs/bin/$a"; done &&
   echo 'root:x:0:0:root:/root:/bin/sh' >"$1.bundle/rootfs/etc/passwd" && echo "$tmp $1" >"$1.bundle/rootfs/etc/unique" &&
   umoci repack --image "$1:latest" "$1.bundle" >/dev/null && rm -rf "$1.bundle")
}
build_image img && build_image img2 || { echo "Bail out! umoci failed"; exit 1; }
for l in img img2; do
  cache_entries+=("$(jq -r '.rootfs.diff_ids[0]' "$l/blobs/sha256/$(jq -r '.config.digest' \
    "$l/blobs/sha256/$(jq -r '.manifests[0].digest' $l/index.json | cut -d: -f2)" | cut -d: -f2)" | cut -d: -f2)")
done
manifest=$(jq -r '.manifests[0].digest' img/index.json)
manifest2=$(jq -r '.manifests[0].digest' img2/index.json)
jq '.identities = {legacy: {match: {name: "legacy-*"}, allow_unsigned: true},
                   strict: {match: {name: "strict", signed_by: ["edkey"]}},
                   pinned: {match: {name: "pinned", signed_reference: "registry.example/app"}}}' \
  "$src/policies/default.json" >policy.json
run() { "$ctl" run --local --quiet --policy "$tmp/policy.json" "$@"; }

# --- enrolment
check "status before enrolment: Compromised, the index is missing" 1 \
  "Compromised(NV index $idx is not defined: the anchor was never enrolled or the index was removed)" "$ctl" trust status
check "enroll: Verified" 0 "Verified" "$ctl" trust enroll anchor.json
check "status: Verified" 0 "Verified" "$ctl" trust status
digest=$(sha256sum etc/anchor.json | cut -d' ' -f1)
[ "$(cmp -s anchor.json etc/anchor.json && echo same)" = same ] && ok "enroll installed the anchor at the configured path" ||
  not_ok "enroll installed the anchor"
nv=$(tpm2_nvread $idx 2>/dev/null | xxd -p -c 64)
reported=$("$ctl" trust status --json | jq -r '.tpm.nv_digest')
[ "$nv" = "$digest" ] && [ "$reported" = "sha256:$digest" ] && ok "tpm2_nvread, sha256sum and ForgeOne agree on the anchor digest" ||
  not_ok "tpm2_nvread agrees" "tpm2_nvread: $nv" "sha256sum: $digest" "forgeonectl: $reported"
pub=$(tpm2_nvreadpublic $idx 2>&1)
if grep -q "size: 32" <<<"$pub" && for a in ownerwrite writelocked writeall writedefine ownerread authread no_da written; do
     grep -q "friendly:.*\b$a\b" <<<"$pub" || exit 1; done; then ok "tpm2_nvreadpublic: 32 bytes, write-locked, owner-written"
else not_ok "tpm2_nvreadpublic attributes" "$pub"; fi
[ -f "trust/anchors/$digest.json" ] && ok "the last-known-good copy is kept" || not_ok "the last-known-good copy is kept"

# --- writing the index: refused without the owner's authorization, and refused with it (write-locked)
head -c 32 /dev/zero >zero.bin
tpm2_changeauth -c owner ownerpass 2>/dev/null
if ! tpm2_nvwrite -C o -i zero.bin $idx 2>/dev/null && ! tpm2_nvwrite -C $idx -i zero.bin $idx 2>/dev/null &&
   ! tpm2_nvwrite -C o -P ownerpass -i zero.bin $idx 2>/dev/null &&
   [ "$(tpm2_nvread $idx 2>/dev/null | xxd -p -c 64)" = "$digest" ]; then
  ok "tpm2_nvwrite fails without owner auth, with the index's auth, and with owner auth (locked); the digest stays"
else not_ok "the NV index cannot be written"; fi
check "enroll --force without the owner authorization is refused" 1 \
  "the owner authorization is wrong or missing: give it with --owner-auth-file" "$ctl" trust enroll --force anchor.json
echo ownerpass >owner.auth

# --- signing and running
check "an unsigned image does not verify" 1 "the image has no signature" "$ctl" image verify img
check "image sign with an openssl-made ECDSA P-256 key" 0 "key \"release\" of anchor \"live\"" \
  "$ctl" image sign --key ec.pem --reference registry.example/app img
check "image verify: Verified" 0 "verified with anchor key \"release\", reference \"registry.example/app\"" \
  "$ctl" image verify img
out=$(run --image "$tmp/img" -- /bin/cat /etc/unique 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "$tmp img" <<<"$out" && ok "run: a signed image runs" || not_ok "run: a signed image runs" "rc=$rc" "$out"
check "run: an unsigned image is refused" 1 "not verified: the image has no signature" run --image "$tmp/img2" -- /bin/echo
out=$(run --image "$tmp/img2" --name legacy-1 -- /bin/echo ran 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^ran$" <<<"$out" && grep -q "UNSIGNED IMAGE: running $tmp/img2 ($manifest2)" <<<"$out" &&
  grep -q 'identity "legacy" has "allow_unsigned": true' <<<"$out" && ok "run: allow_unsigned runs it, and says so loudly" ||
  not_ok "run: allow_unsigned" "rc=$rc" "$out"
check "run: signed_by refuses a signature by another anchor key" 1 \
  'signed by anchor key "release", but only these keys are allowed: edkey (identity "strict" requires a signature)' \
  run --image "$tmp/img" --name strict -- /bin/echo
check "run: signed_reference holds" 0 "" run --image "$tmp/img" --name pinned -- /bin/echo
check "image sign with an openssl-made Ed25519 key" 0 'key "edkey"' "$ctl" image sign --key ed.pem --reference other img
check "run: signed_by accepts the edkey signature" 0 "" run --image "$tmp/img" --name strict -- /bin/echo

# --- detached signatures from openssl, and every failure with its own message
payload() { # DIGEST TYPE EXTRA
  printf '{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"%s"},"type":"%s"%s},"optional":null}' \
    "$1" "$2" "${3:-}"
}
cosign_type="cosign container image signature"
payload "$manifest2" "$cosign_type" >p-ok.json
openssl dgst -sha256 -sign ec.pem -out s-ok.der p-ok.json && base64 -w0 s-ok.der >s-ok.b64
openssl pkeyutl -sign -rawin -inkey ed.pem -in p-ok.json -out s-ed.bin
openssl dgst -sha256 -sign wrong.pem -out s-wrong.der p-ok.json
head -c 20 s-ok.der >s-short.der
printf 'bm90IGEgc2lnbmF0dXJl=x' >s-text
payload "$manifest" "$cosign_type" >p-other.json && openssl dgst -sha256 -sign ec.pem -out s-other.der p-other.json
payload "$manifest2" "atomic container signature" >p-type.json && openssl dgst -sha256 -sign ec.pem -out s-type.der p-type.json
payload "$manifest2" "$cosign_type" ',"expires":"never"' >p-crit.json && openssl dgst -sha256 -sign ec.pem -out s-crit.der p-crit.json
v() { "$ctl" image verify --signature "$1" --payload "$2" img2; }
check "detached: openssl dgst -sha256 -sign (DER) verifies" 0 "detached s-ok.der: verified with anchor key \"release\"" v s-ok.der p-ok.json
check "detached: the same, base64" 0 "detached s-ok.b64: verified" v s-ok.b64 p-ok.json
check "detached: openssl pkeyutl -rawin Ed25519 verifies" 0 "detached s-ed.bin: verified with anchor key \"edkey\"" v s-ed.bin p-ok.json
check "wrong key" 1 'the signature does not verify with any key of anchor "live" (release, edkey): it was made with another key, or its bytes were altered' v s-wrong.der p-ok.json
check "corrupted signature" 1 "the signature is corrupted: its 20 bytes are neither a DER ECDSA signature nor a 64-byte Ed25519 signature" v s-short.der p-ok.json
check "corrupted signature text" 1 "the signature is corrupted: not valid base64" v s-text p-ok.json
check "payload for another digest" 1 "the signed payload is for $manifest, not for this image (manifest $manifest2)" v s-other.der p-other.json
check "wrong type" 1 "the signed payload's type is \"atomic container signature\", not \"cosign container image signature\"" v s-type.der p-type.json
check "unknown critical member" 1 'the signed payload has an unknown critical member "expires": it may carry a requirement this verifier cannot check' v s-crit.der p-crit.json
check "a pinned reference that differs" 1 'the signature is for reference "x", not the required "y"' \
  "$ctl" image verify --reference y --signature s-ok.der --payload p-ok.json img2
js=$("$ctl" image verify --json --signature s-wrong.der --payload p-ok.json img2)
[ "$(jq -r '.verified, .signatures[0].failure, .signatures[0].source' <<<"$js" | paste -sd' ')" = "false wrong-key detached s-wrong.der" ] &&
  ok "verify --json names the failure" || not_ok "verify --json names the failure" "$js"

# --- measurements: the log replays to the PCR that tpm2_pcrread reads
check "trust log --verify: Verified" 0 "Verified" "$ctl" trust log --verify
pcr=$(tpm2_pcrread sha256:23 2>/dev/null | awk '/23:/ {print tolower($2)}' | sed 's/^0x//')
js=$("$ctl" trust log --verify --json)
replay=$(jq -r '.verify.pcrs[] | select(.pcr == 23) | .replay' <<<"$js")
[ "sha256:$pcr" = "$replay" ] && [ "$(jq -r '.verify.status' <<<"$js")" = Verified ] &&
  ok "tpm2_pcrread and the replay of the event log agree (PCR 23 = $replay)" || not_ok "tpm2_pcrread agrees" "pcr=$pcr" "$js"
# The replay again, in shell, as forgeone.trust(7) shows it: an implementation that is not ours.
v=$(printf '%064d' 0)
while IFS= read -r line; do
  e=$(printf '%s' "$line" | sha256sum | cut -c1-64)
  v=$(printf '%s%s' "$v" "$e" | xxd -r -p | sha256sum | cut -c1-64)
done <"$log"
[ "$v" = "$pcr" ] && ok "a shell replay of the log (sha256sum, xxd) gives tpm2_pcrread's value" ||
  not_ok "shell replay" "shell: $v" "tpm2_pcrread: $pcr"
types=$(jq -r '[.records[].type] | unique | join(",")' <<<"$js")
# The run's audit anchors its checkpoints in the same PCR (forgeone.audit(7)).
[ "$types" = "anchor,audit,binary,config,image,policy" ] &&
  ok "binary, configuration, anchor, policy, image and the audit chain's checkpoints are measured" ||
  not_ok "measured types" "$types"
# The audit's PCR-anchored checkpoints are found in the log with the heads the records give. Without
# journald (as on CI machines) the records are in the audit's fallback file.
if [ -f "$tmp/audit/fallback.jsonl" ]; then
  av=$("$ctl" audit verify --input "$tmp/audit/fallback.jsonl" --measure-log "$log" --json 2>&1)
  jq -e '.ok and ([.runs[].pcr_verified] | add) >= 1' <<<"$av" >/dev/null &&
    ok "audit verify finds the audit checkpoints in the measurement log" ||
    not_ok "audit verify against the measurement log" "$av"
else
  ok "audit verify against the measurement log # SKIP the records went to a journald"
fi
[ "$(jq -r "[.records[] | select(.type == \"image\")][0].digest" <<<"$js")" = "$manifest" ] &&
  [ "$(jq -r "[.records[] | select(.type == \"policy\")][0].digest" <<<"$js")" = "sha256:$(sha256sum policy.json | cut -d' ' -f1)" ] &&
  [ "$(jq -r "[.records[] | select(.type == \"binary\")][0].digest" <<<"$js")" = "sha256:$(sha256sum "$ctl" | cut -d' ' -f1)" ] &&
  ok "the records' digests are the manifest's, sha256sum of the policy and of forgeonectl" || not_ok "record digests" "$js"
cp "$log" log.bak
sed -i 2d "$log"
check "a deleted record: Compromised" 1 "a record was removed, edited or reordered" "$ctl" trust log --verify
cp log.bak "$log"
sed -i '3s/"name":"/"name":"x/' "$log"
check "an edited record: Compromised" 1 "Compromised(PCR 23 holds sha256:$pcr but its" "$ctl" trust log --verify
cp log.bak "$log"
tail -n 1 log.bak >>"$log"
check "an added record: Compromised" 1 "were added to the log without being measured" "$ctl" trust log --verify
cp log.bak "$log"
sed -i '1s/{/[/' "$log"
check "a record that is no longer JSON: Compromised" 1 "Compromised($log:1: not a measurement record" "$ctl" trust log --verify
cp log.bak "$log"
check "the restored log: Verified" 0 "Verified" "$ctl" trust log --verify

# --- the layer cache: a changed file in a cached tree is found by --deep
diff=${cache_entries[0]}
check "verify --deep: the cached tree is unchanged" 0 "sha256:$diff unchanged" "$ctl" image verify --deep img
echo tampered >>"/var/lib/forgeone/layers/$diff/rootfs/etc/unique"
check "verify --deep: a changed file in the cached tree is named" 1 \
  "the cached tree of layer sha256:$diff (/var/lib/forgeone/layers/$diff/rootfs) changed on disk: /etc/unique: changed (size, content)" \
  "$ctl" image verify --deep img
rm -rf "/var/lib/forgeone/layers/$diff"

# --- the anchor edited: Compromised, nothing launches; restored: Verified
jq --rawfile k intruder.pub '.keys += [{id: "intruder", algorithm: "ecdsa-p256", public_key: $k}]' anchor.json >etc/anchor.json
check "an edited anchor: Compromised, naming what changed" 1 'against the enrolled copy: key "intruder" added' "$ctl" trust status
check "an edited anchor: run refuses every image" 1 "Refusing to run $tmp/img: trust status is Compromised(anchor $tmp/etc/anchor.json has digest" \
  run --image "$tmp/img" -- /bin/echo
check "an edited anchor: image verify fails" 1 "no image verifies while launches are refused" "$ctl" image verify img
check "trust restore puts back the last-known-good anchor" 0 "Verified" "$ctl" trust restore
check "restored: run works again" 0 "" run --image "$tmp/img" -- /bin/echo

# --- the owner re-enrols; an index removed, or defined without the lock, is Compromised
jq --rawfile k intruder.pub '.keys += [{id: "next", algorithm: "ecdsa-p256", public_key: $k}]' anchor.json >anchor2.json
check "enroll --force with the owner authorization: Verified" 0 "Verified" \
  "$ctl" trust enroll --force --owner-auth-file owner.auth anchor2.json
[ "$(tpm2_nvread $idx 2>/dev/null | xxd -p -c 64)" = "$(sha256sum anchor2.json | cut -d' ' -f1)" ] &&
  ok "tpm2_nvread: the index holds the new anchor's digest" || not_ok "tpm2_nvread after re-enrolment"
tpm2_nvundefine -C o -P ownerpass $idx >/dev/null 2>&1
check "the index removed: Compromised" 1 "Compromised(NV index $idx is not defined" "$ctl" trust status
tpm2_nvdefine $idx -C o -P ownerpass -s 32 -a "ownerwrite|writeall|writedefine|ownerread|authread|no_da" >/dev/null 2>&1
sha256sum etc/anchor.json | cut -d' ' -f1 | xxd -r -p >d.bin
tpm2_nvwrite -C o -P ownerpass -i d.bin $idx >/dev/null 2>&1
check "defined and written by tpm2-tools without the lock: Compromised" 1 \
  "Compromised(NV index $idx is not write-locked: the digest it holds could be rewritten)" "$ctl" trust status
tpm2_nvwritelock -C o -P ownerpass $idx >/dev/null 2>&1
check "write-locked with tpm2_nvwritelock: Verified" 0 "Verified" "$ctl" trust status

# --- no TPM: software mode, and require_tpm makes it fatal
jq --arg d "$tmp" '.tcti = "device:\($d)/no-tpm"' trust.json >soft.json
check "no TPM: Unknown(no TPM), launches allowed" 0 "Unknown(no TPM)" "$ctl" trust status --config "$tmp/soft.json"
jq '.require_tpm = true' soft.json >strict.json
check "require_tpm without a TPM: refused" 1 "Unknown(no TPM)" "$ctl" trust status --config "$tmp/strict.json"
check "require_tpm without a TPM: run refuses" 1 "and require_tpm is set in $tmp/strict.json" \
  env FORGEONE_TRUST_CONFIG="$tmp/strict.json" "$ctl" run --local --quiet --policy "$tmp/policy.json" --image "$tmp/img" -- /bin/echo

echo "1..$n"
[ $failed -eq 0 ]
