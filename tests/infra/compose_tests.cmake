# Deployment files (infra/docker, infra/compose, infra/k8s), checked without a Docker daemon
# by scripts/check-infra.sh; label `infra`. The key check runs the built binaries'
# --help and --check-config; the self-tests inject faults into a temporary copy and require
# the checks to catch them.
set(EARSHOT_INFRA_DIR ${CMAKE_SOURCE_DIR}/tests/infra)
add_test(NAME infra_compose_config COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-infra.sh
  --root ${CMAKE_SOURCE_DIR} compose)
add_test(NAME infra_compose_image COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-infra.sh
  --root ${CMAKE_SOURCE_DIR} image)
add_test(NAME infra_compose_image_self_test
  COMMAND bash ${EARSHOT_INFRA_DIR}/compose_image_self_test.sh ${CMAKE_SOURCE_DIR})
add_test(NAME infra_config_keys COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-infra.sh
  --root ${CMAKE_SOURCE_DIR} --bin-dir ${CMAKE_RUNTIME_OUTPUT_DIRECTORY} keys)
add_test(NAME infra_config_keys_self_test
  COMMAND bash ${EARSHOT_INFRA_DIR}/config_keys_self_test.sh ${CMAKE_SOURCE_DIR}
    ${CMAKE_RUNTIME_OUTPUT_DIRECTORY})
set_tests_properties(infra_compose_config infra_compose_image infra_compose_image_self_test
  infra_config_keys infra_config_keys_self_test PROPERTIES LABELS infra TIMEOUT 300)
set(earshot_infra_binaries)
foreach(b earshot earshot-sync earshot-stt earshot-analyze earshot-notify earshot-gateway)
  list(APPEND earshot_infra_binaries ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/${b})
endforeach()
set_tests_properties(infra_config_keys infra_config_keys_self_test PROPERTIES
  REQUIRED_FILES "${earshot_infra_binaries}")
