# shellcheck shell=bash
# Shared functions of the global discovery hooks. Sourced, never run: the
# directory name lib/ keeps it out of hook discovery and the file is not
# executable.
#
# Requires bash, jq (jq 1.6 or newer, or gojq: what `make tools` builds as
# bin/jq and the tests run) and the hook protocol's environment.

# snapshot_of NAME [BASE]
#
# Prints, as a compact JSON array, the filter results of the Kubernetes
# binding NAME after every binding context in $BINDING_CONTEXT_PATH, in order:
#   - a context carrying snapshots[NAME] (Group, beforeAll/beforeHelm with
#     snapshots, includeSnapshotsFrom) replaces the list;
#   - a Synchronization context of NAME replaces it with its objects;
#   - an Event context of NAME adds, replaces or removes one element, keyed by
#     the filter result's "name" field.
# The list starts as BASE (a JSON array; default null, unknown). Prints BASE
# when the contexts say nothing about NAME, and "null" when an Event has to
# be applied to an unknown list. Every filter result must be an object with a
# "name" field.
snapshot_of() {
  local name=$1 base=${2:-null}
  jq -c --arg name "$name" --argjson base "$base" '
    def result: if has("filterResult") and .filterResult != null then .filterResult
                else {name: .object.metadata.name} end;
    reduce (. // [])[] as $ctx ($base;
      if (($ctx.snapshots // {}) | has($name)) then
        [($ctx.snapshots[$name] // [])[] | result]
      elif $ctx.binding == $name and $ctx.type == "Synchronization" then
        [($ctx.objects // [])[] | result]
      elif $ctx.binding == $name and $ctx.type == "Event" and . != null then
        ($ctx | result) as $r
        | [.[] | select(.name != $r.name)]
          + (if $ctx.watchEvent == "Deleted" then [] else [$r] end)
      elif $ctx.binding == $name and $ctx.type == "Event" then
        null
      else . end)
  ' "$BINDING_CONTEXT_PATH"
}

# write_values_patch JSON
#
# Writes one RFC 6902 patch (a JSON array) to $VALUES_JSON_PATCH_PATH,
# appending to what the hook wrote before in this run.
write_values_patch() {
  printf '%s\n' "$1" >>"$VALUES_JSON_PATCH_PATH"
}
