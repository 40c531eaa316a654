#pragma once

// Reading a response's file into memory when it does not go out with sendfile:
// nginx's output chain with `aio`, `directio`, `directio_alignment` and
// `output_buffers` (issue #6). The writers (output.cpp, output_parts.cpp) ask for
// the next part of the file and get its bytes, or k_io_again, in which case the
// output resumes by itself (send_response) when the read completes.
//
// Which reader reads, per location:
//   aio on       native AIO (event/file_aio.hpp): with sendfile on, only for files
//                opened with directio, as nginx does; with sendfile off, for every
//                file (without O_DIRECT the kernel then blocks in io_submit()).
//   aio threads  the named thread pool's reader (event/file_thread_read.hpp).
//   aio io_uring the worker's ring (event/file_uring.hpp), with sendfile as `aio on`:
//                files that go out with sendfile (sendfile on, no directio) are
//                sent with it, the ring reads whatever the output reads into memory
//                (sendfile off, directio files). A worker whose kernel has no
//                io_uring reads those files in the thread pool "default".
//   aio off      pread().
// With directio, files of at least that size are read with O_DIRECT: the buffer,
// offsets and sizes are aligned to directio_alignment, and the unaligned head and
// tail of a range are read synchronously (one aligned block each), as in nginx. A
// file system that refuses O_DIRECT (EINVAL) gets one [warn] and the file is read
// through the page cache.
//
// The read buffer belongs to the reader, not to the request (the kernel may write
// into it after the client is gone): the request's arena releases it when the
// request ends. Thread: the worker's loop thread.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/conf_applier.hpp"
#include "http/request.hpp"

namespace evs::event {
class FileAio;
class FileReader;
class UringFileReader;
}  // namespace evs::event

namespace evs::http {

// The static handler, once the file is open (r->fd) and its size known: applies
// directio (O_DIRECT on the request's descriptor; sets r->directio).
void prepare_file_read(Request* r, std::string_view path, std::int64_t size);

// The next bytes of [pos, end) of r's file: their count, with *data pointing at them
// (valid until the next call); event::k_io_again when they are being read (the
// output resumes by itself); event::k_io_error (logged) when the read failed or
// the file is shorter than it was.
ssize_t read_file_part(Request* r, off_t pos, off_t end, char** data);

// The worker's native AIO context (nullptr: none, `aio on` reads synchronously).
void set_file_aio(event::FileAio* aio);
// The worker's io_uring reader (nullptr, or disabled: `aio io_uring` reads in the
// thread pool "default").
void set_uring_reader(event::UringFileReader* uring);
// The reader of the thread pool `name` (`aio threads=name`).
void add_thread_reader(std::string_view name, event::FileReader* reader);
// Frees the worker's synchronous reader and forgets the other readers.
void release_file_readers();

// The setters of `aio`, `directio`, `directio_alignment` and `output_buffers` (into a
// LocationConfig).
std::optional<core::conf::Error> set_aio(core::conf::Applier& applier, const core::conf::Node& node,
                                         const core::conf::Directive& directive, void* conf);
std::optional<core::conf::Error> set_directio(core::conf::Applier& applier,
                                              const core::conf::Node& node,
                                              const core::conf::Directive& directive, void* conf);
std::optional<core::conf::Error> set_directio_alignment(core::conf::Applier& applier,
                                                        const core::conf::Node& node,
                                                        const core::conf::Directive& directive,
                                                        void* conf);
std::optional<core::conf::Error> set_output_buffers(core::conf::Applier& applier,
                                                    const core::conf::Node& node,
                                                    const core::conf::Directive& directive,
                                                    void* conf);

}  // namespace evs::http
