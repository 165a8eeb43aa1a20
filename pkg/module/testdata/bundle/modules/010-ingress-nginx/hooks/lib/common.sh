#!/bin/bash
# Shared functions for the module's hooks; not a hook itself.
log() { echo "$@" >&2; }
