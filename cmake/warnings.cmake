# Warnings for our own targets; -Werror in CI (PRESENCED_WERROR).
add_library(presenced_warnings INTERFACE)
target_compile_options(presenced_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
if(PRESENCED_WERROR)
  target_compile_options(presenced_warnings INTERFACE -Werror)
endif()
if(PRESENCED_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
