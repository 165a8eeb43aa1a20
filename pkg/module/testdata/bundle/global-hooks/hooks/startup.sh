#!/bin/bash
if [[ "$1" == "--config" ]]; then
  echo 'configVersion: v1'
  echo 'onStartup: 1'
  exit 0
fi
