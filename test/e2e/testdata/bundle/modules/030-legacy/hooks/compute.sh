#!/bin/bash -e

if [[ $1 == "--config" ]] ; then
  cat <<EOF
{
  "configVersion":"v1",
  "beforeHelm": 10
}
EOF
else
  greeting=$(jq -r '.legacy.greeting' $VALUES_PATH)
  cluster=$(jq -r '.global.clusterName' $VALUES_PATH)
  cat > $VALUES_JSON_PATCH_PATH <<EOF
[{"op":"add","path":"/legacy/internal/message","value":"${greeting} from ${cluster}"}]
EOF
fi
