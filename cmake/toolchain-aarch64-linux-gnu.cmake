# Cross-build for Debian arm64 (aarch64) on an amd64 Debian with multiarch:
#   dpkg --add-architecture arm64; apt-get install crossbuild-essential-arm64 and the
#   -dev libraries as PKG:arm64 (scripts/install-deps.sh --package arm64 does both), then
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake ...
# Headers and libraries come from the multiarch folders (/usr/lib/aarch64-linux-gnu), so
# no sysroot is involved. scripts/package.sh uses this file.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# pkg-config reads the arm64 .pc files only (ldns, sqlite3, libxcrypt).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# The Debian architecture of the .deb CPack builds (cmake/packaging.cmake).
set(ACMEDNSD_DEB_ARCH arm64)
