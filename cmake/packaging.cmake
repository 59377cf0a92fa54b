# Debian package built by CPack: `cpack -G DEB` in the build folder (after building
# acme-dnsd). Layout follows Debian: binary /usr/bin, unit /lib/systemd/system, config
# /etc/acme-dnsd/config.toml as a conffile (dpkg keeps local edits on upgrade), state
# /var/lib/acme-dnsd created by systemd's StateDirectory=. The postinst creates the
# system user the unit runs as.
set(ACMEDNSD_DEPLOY_DIR ${PROJECT_SOURCE_DIR}/deploy)
# cpack installs the project first; without this the install step would build every
# target (tests, benchmarks) when only the server goes into the package.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(FILES ${ACMEDNSD_DEPLOY_DIR}/systemd/acme-dnsd.service ${ACMEDNSD_DEPLOY_DIR}/systemd/acme-dnsd.socket
  DESTINATION /lib/systemd/system COMPONENT acme-dnsd)
install(FILES ${ACMEDNSD_DEPLOY_DIR}/debian/config.toml
  DESTINATION /etc/acme-dnsd COMPONENT acme-dnsd)
install(FILES ${PROJECT_SOURCE_DIR}/config.toml.example ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION share/doc/acme-dnsd COMPONENT acme-dnsd)

set(CPACK_PACKAGE_NAME acme-dnsd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "acme-dnsd maintainers <acme-dnsd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "authoritative DNS server for ACME DNS-01 challenges (acme-dns compatible)")
set(CPACK_PACKAGE_DESCRIPTION
  "acme-dnsd serves the TXT records of ACME DNS-01 challenges from an HTTP API that is a
drop-in replacement for acme-dns, with more than two values per account, correct
negative answers and an embedded ACME client.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# RelWithDebInfo binaries carry debug info; the package ships them stripped.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/acme-dns/acme-dns")
# The runtime libraries' packages come from what the binary links: dpkg-shlibdeps (dpkg-dev,
# and `file` for CPack to find the ELF files) reads the symbols/shlibs files of the
# packages that own them, so the names and minimum versions follow the distribution the
# package is built on (trixie's 64-bit time_t renames, e.g. libssl3t64), never a stale
# hand-written list. Cross-building, run cpack with DEB_HOST_ARCH set (scripts/package.sh).
# Not linked, so listed here: adduser for the postinst; procps for the unit's
# ExecReload=/bin/kill (a minimal Debian has no /bin/kill: `systemctl reload` failed with
# 203/EXEC, found by tests/ops/test_package_install.py).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
find_program(ACMEDNSD_DPKG_SHLIBDEPS dpkg-shlibdeps)
find_program(ACMEDNSD_FILE file)
if(NOT ACMEDNSD_DPKG_SHLIBDEPS OR NOT ACMEDNSD_FILE)
  message(WARNING "dpkg-shlibdeps or file missing (packages dpkg-dev, file): a .deb built "
    "by cpack here would lack its library Depends")
endif()
# Cross builds name the target architecture (cmake/toolchain-aarch64-linux-gnu.cmake);
# native builds let CPack ask dpkg.
if(ACMEDNSD_DEB_ARCH)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${ACMEDNSD_DEB_ARCH})
endif()
# One package per distribution: scripts/package.sh sets e.g. 1+deb12 / 1+deb13, so the
# four .debs have distinct names and a trixie build sorts after the bookworm one.
set(ACMEDNSD_DEB_RELEASE "" CACHE STRING "Debian revision of the .deb (empty: none)")
if(ACMEDNSD_DEB_RELEASE)
  set(CPACK_DEBIAN_PACKAGE_RELEASE ${ACMEDNSD_DEB_RELEASE})
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${ACMEDNSD_DEPLOY_DIR}/debian/conffiles
  ${ACMEDNSD_DEPLOY_DIR}/debian/postinst
  ${ACMEDNSD_DEPLOY_DIR}/debian/prerm
  ${ACMEDNSD_DEPLOY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
