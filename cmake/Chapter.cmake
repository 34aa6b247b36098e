# minidocker_chapter(NN FEATURE file.cpp... [SOURCES other.cpp...])
#
# Builds chapter NN from chapters/NN-topic/:
#   chNN_feature  a library with this chapter's feature, linked to the
#                 previous chapter's (so chNN contains chapters 01..NN)
#   chNN          the program, from main.cpp
# FEATURE files are the ones an exercise replaces: with
# -DMINIDOCKER_EXERCISE=NN they come from exercises/NN-*/skeleton/ (or from
# MINIDOCKER_EXERCISE_DIR), and every later chapter is built on them.
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
  foreach(file IN LISTS CH_FEATURE)
    set(path ${CMAKE_CURRENT_SOURCE_DIR}/${file})
    if(MINIDOCKER_EXERCISE STREQUAL number)
      if(MINIDOCKER_EXERCISE_DIR)
        set(path ${MINIDOCKER_EXERCISE_DIR}/${file})
      else()
        file(GLOB path ${PROJECT_SOURCE_DIR}/exercises/${number}-*/skeleton/${file})
      endif()
      if(NOT EXISTS "${path}")
        message(FATAL_ERROR "exercise ${number}: ${file} not found (looked at '${path}')")
      endif()
      message(STATUS "chapter ${number}: ${file} from ${path}")
    endif()
    list(APPEND sources ${path})
  endforeach()

  add_library(ch${number}_feature STATIC ${sources})
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
