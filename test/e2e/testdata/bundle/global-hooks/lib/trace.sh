# trace appends one line to the test's trace file: "<who> <what>".
trace() {
  if [[ -n "${E2E_TRACE:-}" ]]; then
    echo "$*" >> "$E2E_TRACE"
  fi
}
