#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# forgeonectl trust and image without root and without a TPM (software mode: a TCTI device that does not
# exist): --help against forgeonectl(1), status and its JSON, require_tpm, configuration and anchor
# errors, and signing and verifying a layout built here by hand, with keys from the openssl CLI. Prints
# TAP. The temp dir is removed on exit.
set -uo pipefail

src=${FORGEONE_SOURCE_ROOT:?}
ctl=${FORGEONE_BUILD_ROOT:?}/src/cli/forgeonectl
for p in openssl jq sha256sum tar; do
  command -v $p >/dev/null || { echo "1..0 # SKIP needs $p"; exit 77; }
done

tmp=$(mktemp -d /tmp/test-cli-trust-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do sed 's/^/# /' <<<"$l"; done; }
check() { # DESCRIPTION WANT_RC NEEDLE CMD...
  local d=$1 want=$2 needle=$3 out rc; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq "$want" ] && { [ -z "$needle" ] || grep -qF -- "$needle" <<<"$out"; }; then ok "$d"
  else not_ok "$d" "command: $*" "rc=$rc (want $want), want: $needle" "output: $out"; fi
}

# --- --help and forgeonectl(1) name the same options
man_section() { # TITLE: the roff text of one section of forgeonectl(1)
  awk -v t=".SH $1" '$0 == t {on = 1; next} /^\.SH / {on = 0} on' "$src/man/forgeonectl.1" | sed 's/\\-/-/g'
}
for verb in trust image; do
  help=$("$ctl" $verb --help)
  section=$(if [ $verb = trust ]; then man_section TRUST; else man_section "IMAGE SIGNATURES"; fi)
  synopsis=$(awk '/^\.SH SYNOPSIS/ {on = 1; next} /^\.SH / {on = 0} on' "$src/man/forgeonectl.1" | sed 's/\\-/-/g' |
             grep -A8 "forgeonectl $verb")
  missing=
  for o in $(grep -o -- '--[a-z-]*' <<<"$help" | sort -u); do
    [ "$o" = --help ] && continue
    grep -qF -- "$o" <<<"$section$synopsis" || missing="$missing $o"
  done
  for o in $(grep -o -- '--[a-z-]*' <<<"$section" | sort -u); do
    grep -qF -- "$o" <<<"$help" || missing="$missing (man only) $o"
  done
  [ -z "$missing" ] && ok "$verb --help and forgeonectl(1) name the same options" ||
    not_ok "$verb --help and forgeonectl(1) name the same options" "differ:$missing"
done
for c in status enroll restore log; do
  grep -q "forgeonectl trust $c" <<<"$("$ctl" trust --help)" || not_ok "trust --help lists $c"
done
check "trust with an unknown command" 1 "Unknown trust command 'sing'; expected status, enroll, restore or log." "$ctl" trust sing

# --- software mode
openssl ecparam -name prime256v1 -genkey -noout -out ec.pem 2>/dev/null && openssl pkey -in ec.pem -pubout -out ec.pub &&
  openssl ecparam -name prime256v1 -genkey -noout -out other.pem 2>/dev/null || { echo "Bail out! openssl failed"; exit 1; }
jq -n --rawfile k ec.pub '{format: 1, id: "cli", keys: [{id: "release", algorithm: "ecdsa-p256", public_key: $k}]}' >anchor.json
jq -n --arg d "$tmp" '{anchor: "\($d)/anchor.json", tcti: "device:\($d)/no-tpm", state_dir: "\($d)/state",
  event_log: "\($d)/log.jsonl"}' >trust.json
export FORGEONE_TRUST_CONFIG=$tmp/trust.json
check "status without a TPM: Unknown(no TPM), exit 0" 0 "Unknown(no TPM)" "$ctl" trust status
js=$("$ctl" trust status --json)
[ "$(jq -r '[.status, .reason, .launch_allowed, .tpm.present, .anchor.valid, .anchor.keys[0].id] | join(" ")' <<<"$js")" = \
  "Unknown no TPM true false true release" ] && grep -Eq "no-tpm: No such file or directory|built without tpm2-tss" <<<"$(jq -r .tpm.detail <<<"$js")" &&
  ok "status --json" || not_ok "status --json" "$js"
jq '.require_tpm = true' trust.json >strict.json
check "require_tpm without a TPM: exit 1" 1 "Unknown(no TPM)" "$ctl" trust status --config "$tmp/strict.json"
check "trust log --verify without a TPM: Unknown(no TPM)" 1 "Unknown(no TPM)" "$ctl" trust log --verify
check "restore without a TPM is refused" 1 "nothing says which saved anchor is the good one" "$ctl" trust restore
if grep -q "built without tpm2-tss" <<<"$js"; then
  ok "a TCTI that does not exist: # SKIP built without tpm2-tss"
else
  check "a TCTI that does not exist is a configuration error, not software mode" 1 \
    "TCTI \"bogus:x\" cannot be loaded: " "$ctl" trust status --tcti bogus:x
fi
printf '{\n  "anchor": "/a",\n  "require_tmp": true\n}\n' >typo.json
check "a misspelt configuration member names file, line and column" 1 \
  "$tmp/typo.json:3:3: unknown member \"require_tmp\"" "$ctl" trust status --config "$tmp/typo.json"
check "a configuration that does not exist" 1 "cannot read trust configuration $tmp/none.json: No such file or directory" \
  "$ctl" trust status --config "$tmp/none.json"
cp anchor.json anchor.good
jq '.keys[0].algorithm = "ed25519"' anchor.good >anchor.json
check "status shows why the anchor is invalid" 0 \
  "key \"release\" says algorithm \"ed25519\" but its public_key is ecdsa-p256" "$ctl" trust status
cp anchor.good anchor.json

# --- a layout made by hand: one layer, config, manifest, index
mkdir -p root/etc img/blobs/sha256 && echo hello >root/etc/hello && tar -C root -cf layer.tar etc
blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "img/blobs/sha256/$d"; echo "$d"; }
l=$(blob layer.tar)
printf '{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$l" >config.json
c=$(blob config.json)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
  "$c" "$(stat -c %s config.json)" "$l" "$(stat -c %s layer.tar)" >manifest.json
m=$(blob manifest.json)
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
  "$m" "$(stat -c %s manifest.json)" >img/index.json
echo '{"imageLayoutVersion":"1.0.0"}' >img/oci-layout

check "an unsigned image does not verify" 1 "Not verified" "$ctl" image verify img:v1
check "image sign" 0 "key \"release\" of anchor \"cli\"" "$ctl" image sign --key ec.pem img:v1
check "image sign with a key the anchor does not hold says so" 0 "not a key of this host's anchor" \
  "$ctl" image sign --key other.pem img:v1
check "image verify: the release signature holds in software mode" 0 "verified with anchor key \"release\", reference \"v1\"" \
  "$ctl" image verify img:v1
check "the other signature is reported as a wrong key" 0 "does not verify with any key of anchor \"cli\" (release)" \
  "$ctl" image verify img:v1
check "the layout's image is still found without a tag" 0 "Verified" "$ctl" image verify img
js=$("$ctl" image verify --json --key release --reference v1 img:v1)
[ "$(jq -r '[.verified, .blobs_verified, (.signatures | length), .signatures[0].key, .signatures[1].failure] | join(" ")' <<<"$js")" = \
  "true true 2 release wrong-key" ] && ok "image verify --json" || not_ok "image verify --json" "$js"
check "--key requires a key the image is not signed by" 1 "only these keys are allowed: nobody" \
  "$ctl" image verify --key nobody img:v1
check "a layer blob changed on disk (same size)" 1 "sha256:$l" sh -c \
  "printf X | dd of='img/blobs/sha256/$l' bs=1 seek=600 conv=notrunc 2>/dev/null && '$ctl' image verify img:v1"
check "--signature without --payload" 1 "--signature and --payload go together" "$ctl" image verify --signature x img
check "an encrypted key is refused, never prompted" 1 "is encrypted: give an unencrypted PEM key" sh -c \
  "openssl pkey -in ec.pem -aes256 -passout pass:x -out enc.pem && '$ctl' image sign --key enc.pem img:v1 </dev/null"

echo "1..$n"
[ $failed -eq 0 ]
