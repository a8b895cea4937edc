#!/usr/bin/env bash
# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# Start the waste_classifier_ros container with the cameras and the network it needs.
#
#   docker/run.sh                                  # the image's default command
#   docker/run.sh ros2 launch waste_classifier_ros stream.launch.py output:=rtp://10.0.0.5:1234
#   IMAGE=my/image:tag DOCKER_ARGS="-v $PWD/models:/models" docker/run.sh bash
#
# On a Jetson (found by /etc/nv_tegra_release) it uses the NVIDIA runtime and the CSI camera's
# Argus socket; elsewhere the x86 image (ONNX Runtime on the CPU). Every
# /dev/video* is passed in. Host networking lets the RTP stream and ROS 2 discovery reach the
# LAN, and the host IPC namespace lets Fast DDS use shared memory with ROS nodes on the host.
set -euo pipefail

args=(--rm --network host --ipc host -e "ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-0}")
if [[ -t 0 ]]; then
    args+=(-it)
fi
if [[ -f /etc/nv_tegra_release ]]; then
    image=${IMAGE:-waste_classifier_ros:jetson}
    args+=(--runtime nvidia -v /tmp/argus_socket:/tmp/argus_socket)
else
    image=${IMAGE:-waste_classifier_ros:x86}
fi
for device in /dev/video*; do
    if [[ -e $device ]]; then
        args+=(--device "$device")
    fi
done
# shellcheck disable=SC2206  # DOCKER_ARGS is split on purpose
args+=(${DOCKER_ARGS:-})

exec docker run "${args[@]}" "$image" "$@"
