#!/bin/bash
# Shared functions for global hooks; not a hook itself.
