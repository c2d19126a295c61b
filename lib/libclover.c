/* SPDX-License-Identifier: MIT */
/*
 * libclover has no code of its own: it is the exec layer and the layers below
 * it (linked whole, see CMakeLists.txt), exporting what include/clover.h
 * declares. This file is there because a library needs a source.
 */
#include <clover.h>
