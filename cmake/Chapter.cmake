# minidocker_chapter(NN FEATURE file.cpp... [SOURCES other.cpp...])
#
# Builds chapter NN from chapters/NN-topic/:
#   chNN_feature  a library with this chapter's feature, linked to the
#                 previous chapter's (so chNN contains chapters 01..NN)
#   chNN          the program, from main.cpp
# FEATURE files are the ones an exercise replaces: with
# -DMINIDOCKER_EXERCISE=NN they come from MINIDOCKER_EXERCISE_DIR (a
# student's folder) or, without it, from the skeleton that
# exercises/skeleton.sh makes of the chapter's file at build time, in
# BUILD/skeleton/ (ARCHITECTURE.md, section Exercises); every later chapter
# is built on them.
set_property(GLOBAL PROPERTY MINIDOCKER_CHAPTERS "")

function(minidocker_chapter number)
  cmake_parse_arguments(CH "" "" "FEATURE;SOURCES" ${ARGN})
  get_property(chapters GLOBAL PROPERTY MINIDOCKER_CHAPTERS)
  list(LENGTH chapters count)
  if(count EQUAL 0)
    set(previous minidocker_common)
  else()
    list(GET chapters -1 last)
    set(previous ch${last}_feature)
  endif()

  set(sources ${CH_SOURCES})
  set(skeleton_files)
  foreach(file IN LISTS CH_FEATURE)
    set(path ${CMAKE_CURRENT_SOURCE_DIR}/${file})
    if(MINIDOCKER_EXERCISE STREQUAL number)
      if(MINIDOCKER_EXERCISE_DIR)
        set(path ${MINIDOCKER_EXERCISE_DIR}/${file})
        if(NOT EXISTS "${path}")
          message(FATAL_ERROR "exercise ${number}: ${file} not found (looked at '${path}')")
        endif()
      else()
        # Generated, never kept: a change to a solution block (or to the
        # generator) makes the skeleton again at the next build.
        set(reference ${CMAKE_CURRENT_SOURCE_DIR}/${file})
        set(path ${CMAKE_BINARY_DIR}/skeleton/${file})
        add_custom_command(
          OUTPUT ${path}
          COMMAND ${PROJECT_SOURCE_DIR}/exercises/skeleton.sh -o ${path} ${reference}
          DEPENDS ${reference} ${PROJECT_SOURCE_DIR}/exercises/skeleton.sh ${PROJECT_SOURCE_DIR}/exercises/lib.sh
          COMMENT "Generating exercise ${number}'s skeleton skeleton/${file}")
        list(APPEND skeleton_files ${path})
      endif()
      message(STATUS "chapter ${number}: ${file} from ${path}")
    endif()
    list(APPEND sources ${path})
  endforeach()

  if(skeleton_files)
    # The skeleton alone, without compiling it: cmake --build B --target chNN_skeleton
    add_custom_target(ch${number}_skeleton DEPENDS ${skeleton_files})
  endif()

  add_library(ch${number}_feature STATIC ${sources})
  if(skeleton_files)
    # One target makes the file, before the library compiles it: two
    # targets running one custom command can race in a parallel make.
    add_dependencies(ch${number}_feature ch${number}_skeleton)
  endif()
  target_include_directories(ch${number}_feature PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(ch${number}_feature PUBLIC ${previous})
  add_executable(ch${number} main.cpp)
  target_link_libraries(ch${number} PRIVATE ch${number}_feature)
  if(MINIDOCKER_STATIC)
    # No dynamic loader, no shared libraries to map: a faster start.
    target_link_options(ch${number} PRIVATE -static)
  endif()

  set_property(GLOBAL APPEND PROPERTY MINIDOCKER_CHAPTERS ${number})
endfunction()
