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
# The runtime libraries, by Debian bookworm package name (dpkg-shlibdeps is not
# required on the build machine this way); adduser for the postinst; procps for the
# unit's ExecReload=/bin/kill (a minimal Debian has no /bin/kill: `systemctl reload`
# failed with 203/EXEC, found by tests/ops/test_package_install.py).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libc6 (>= 2.36), libstdc++6 (>= 12), libgcc-s1, libldns3 (>= 1.8), libsqlite3-0 (>= 3.40), libssl3 (>= 3.0), libtomlplusplus3 (>= 3.3), libcrypt1, adduser, procps")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${ACMEDNSD_DEPLOY_DIR}/debian/conffiles
  ${ACMEDNSD_DEPLOY_DIR}/debian/postinst
  ${ACMEDNSD_DEPLOY_DIR}/debian/prerm
  ${ACMEDNSD_DEPLOY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
