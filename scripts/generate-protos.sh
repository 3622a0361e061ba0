#!/usr/bin/env bash
# Regenerates the committed Swift code from schemas/*.proto.
#
#   scripts/generate-protos.sh            write the generated code into Sources/
#   scripts/generate-protos.sh --check    fail (exit 1) when the committed code is stale
#
# Needs protoc (Debian: protobuf-compiler) and builds protoc-gen-swift from the
# swift-protobuf version this package resolves, so the generator always matches the runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "protoc is missing: apt-get install -y protobuf-compiler" >&2; exit 2; }

swift build --product protoc-gen-swift >/dev/null
plugin="$(swift build --show-bin-path)/protoc-gen-swift"

# Each schema folder and the Swift module its code belongs to.
declare -A destinations=(
  [tally/v1/envelope.proto]=Sources/EventLog/Generated
  [tally/v1/common.proto]=Sources/BillingEvents/Generated
  [tally/v1/catalog.proto]=Sources/BillingEvents/Generated
  [tally/v1/subscriptions.proto]=Sources/BillingEvents/Generated
  [tally/v1/usage.proto]=Sources/BillingEvents/Generated
  [tally/v1/commands.proto]=Sources/TallyCommands/Generated
  [tally/v1/invoices.proto]=Sources/BillingEvents/Generated
)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

status=0
for proto in "${!destinations[@]}"; do
  dest="${destinations[$proto]}"
  mkdir -p "$out/$dest"
  mappings=()
  # The command schema's module imports the payloads' module.
  [[ "$proto" == tally/v1/commands.proto ]] && mappings=(--swift_opt=ProtoPathModuleMappings=schemas/commands-module-mappings.asciipb)
  protoc --plugin="protoc-gen-swift=$plugin" \
    --proto_path=schemas \
    --swift_opt=Visibility=Public \
    --swift_opt=UseAccessLevelOnImports=true \
    --swift_opt=FileNaming=PathToUnderscores \
    "${mappings[@]}" \
    --swift_out="$out/$dest" \
    "schemas/$proto"
done

for dest in $(printf '%s\n' "${destinations[@]}" | sort -u); do
  if [[ "${1:-}" == "--check" ]]; then
    if ! diff -r "$out/$dest" "$dest" >/dev/null; then
      echo "Generated code in $dest is stale: run scripts/generate-protos.sh and commit the result." >&2
      diff -r "$out/$dest" "$dest" | head -40 >&2 || true
      status=1
    fi
  else
    rm -f "$dest"/*.pb.swift
    cp "$out/$dest"/*.pb.swift "$dest"/
    echo "wrote $dest"
  fi
done
exit $status
