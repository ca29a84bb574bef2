#!/bin/bash -e
# On the build host: put the first-boot installer and the aarch64 wheels into the image, where
# 02-run-chroot.sh installs them. The wheels come from files/wheels, made beforehand with
#   images/build-wheels.sh --python 3.11 --out images/pi-gen/stage-edge-agent/00-install-agent/files/wheels
EDGE_KIT_DIR=${EDGE_KIT_DIR:-$(cd ../../../.. && pwd)}
WHEELS=files/wheels
kit=$(ls "${WHEELS}"/digitallabor_edge_kit-*.whl 2>/dev/null | head -n 1)
if [ -z "${kit}" ]; then
    echo "edge-agent stage: no ${WHEELS}/digitallabor_edge_kit-*.whl; run images/build-wheels.sh --out $(pwd)/${WHEELS}" >&2
    exit 1
fi
version=$(basename "${kit}" | cut -d- -f2)
SETUP="${ROOTFS_DIR}/var/lib/edge-agent-setup"
install -d -m 0755 "${SETUP}" "${SETUP}/wheels"
install -m 0755 "${EDGE_KIT_DIR}/edge_agent/image/firstboot.sh" "${SETUP}/firstboot.sh"
install -m 0644 "${WHEELS}"/*.whl "${SETUP}/wheels/"
cat >"${SETUP}/firstboot.env" <<ENV
# Settings of firstboot.sh for the pi-gen build. No secrets.
EDGE_KIT_VERSION=${version}
EDGE_KIT_REQUIREMENT='digitallabor-edge-kit${EDGE_KIT_EXTRAS:+[${EDGE_KIT_EXTRAS}]}==${version}'
EDGE_KIT_ADMIN_USER='${FIRST_USER_NAME}'
EDGE_KIT_APT_PACKAGES=''
EDGE_KIT_RELEASE='${RELEASE}'
ENV
