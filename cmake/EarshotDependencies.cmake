# Third-party libraries, all from Debian 12 packages (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(CURL REQUIRED)
find_package(rabbitmq-c CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)

pkg_check_modules(MARIADB REQUIRED IMPORTED_TARGET libmariadb)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(JWT REQUIRED IMPORTED_TARGET libjwt)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
# FFT for the speaker features of diarization (libkissfft-dev).
pkg_check_modules(KISSFFT REQUIRED IMPORTED_TARGET kissfft-float)
pkg_check_modules(BROTLI REQUIRED IMPORTED_TARGET libbrotlienc libbrotlidec)
# PDF text for the knowledge base (libpoppler-cpp-dev).
pkg_check_modules(POPPLER_CPP REQUIRED IMPORTED_TARGET poppler-cpp)

# hnswlib is header-only (libhnswlib-dev): the vector index of libs/rag.
find_path(HNSWLIB_INCLUDE_DIR hnswlib/hnswlib.h REQUIRED)
add_library(earshot_thirdparty_hnswlib INTERFACE)
add_library(thirdparty::hnswlib ALIAS earshot_thirdparty_hnswlib)
target_include_directories(earshot_thirdparty_hnswlib SYSTEM INTERFACE ${HNSWLIB_INCLUDE_DIR})

# cpp-httplib is a compiled library on Debian; its users must see the same feature macros.
find_library(HTTPLIB_LIBRARY NAMES cpp-httplib REQUIRED)
find_path(HTTPLIB_INCLUDE_DIR httplib.h REQUIRED)
add_library(earshot_thirdparty_httplib INTERFACE)
add_library(thirdparty::httplib ALIAS earshot_thirdparty_httplib)
target_link_libraries(earshot_thirdparty_httplib INTERFACE ${HTTPLIB_LIBRARY}
  OpenSSL::SSL OpenSSL::Crypto ZLIB::ZLIB PkgConfig::BROTLI Threads::Threads)
target_include_directories(earshot_thirdparty_httplib SYSTEM INTERFACE ${HTTPLIB_INCLUDE_DIR})
target_compile_definitions(earshot_thirdparty_httplib INTERFACE
  CPPHTTPLIB_OPENSSL_SUPPORT CPPHTTPLIB_ZLIB_SUPPORT CPPHTTPLIB_BROTLI_SUPPORT)

# Boost.Beast/Asio (header-only; Boost.System is header-only too) for the gateway's listener.
find_package(Boost 1.81 REQUIRED CONFIG)
add_library(earshot_thirdparty_boost_asio INTERFACE)
add_library(thirdparty::boost_asio ALIAS earshot_thirdparty_boost_asio)
target_link_libraries(earshot_thirdparty_boost_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(earshot_thirdparty_boost_asio INTERFACE
  BOOST_ASIO_NO_DEPRECATED)

if(EARSHOT_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(EARSHOT_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
