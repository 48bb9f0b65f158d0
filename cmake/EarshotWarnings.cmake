# earshot_target_warnings(<target>): the project's warning set, errors unless EARSHOT_WERROR=OFF.
function(earshot_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough -Wformat=2)
  if(EARSHOT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# earshot_library(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Creates earshot_<name> with alias earshot::<name>, public headers in include/.
function(earshot_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(earshot_${name} STATIC ${ARG_SOURCES})
  add_library(earshot::${name} ALIAS earshot_${name})
  target_include_directories(earshot_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(earshot_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  earshot_target_warnings(earshot_${name})
endfunction()

# earshot_service(<name> SOURCES ... DEPS ...): an executable build/bin/earshot-<name>.
function(earshot_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  earshot_target_warnings(${name})
endfunction()
