/* protodyn.cc - a .proto given at run time: parsed with libprotobuf's
 * Importer (the text served under its name, imports from the test's folder,
 * the system include folders and the well-known types compiled into
 * libprotobuf), messages built with DynamicMessageFactory and mapped to and
 * from proto3 JSON with libprotobuf's json_util (see protodyn.h). */
#include "protodyn.h"

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace pb = google::protobuf;

namespace
{

/* The .proto text under its name; other files from the folders mapped,
 * then from the descriptors compiled into libprotobuf (the well-known
 * types), printed back as .proto text. */
class TextSourceTree : public pb::compiler::SourceTree
{
  public:
    TextSourceTree(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text))
    {
    }
    void map_dir(const std::string &dir)
    {
        disk_.MapPath("", dir);
        any_dir_ = true;
    }
    pb::io::ZeroCopyInputStream *Open(const std::string &filename) override
    {
        if (filename == name_)
            return new pb::io::ArrayInputStream(text_.data(), (int)text_.size());
        if (any_dir_) {
            pb::io::ZeroCopyInputStream *s = disk_.Open(filename);
            if (s)
                return s;
        }
        auto it = builtin_.find(filename);
        if (it == builtin_.end()) {
            const pb::FileDescriptor *fd = pb::DescriptorPool::generated_pool()->FindFileByName(filename);
            if (!fd) {
                last_error_ = "File not found.";
                return nullptr;
            }
            it = builtin_.emplace(filename, fd->DebugString()).first;
        }
        return new pb::io::ArrayInputStream(it->second.data(), (int)it->second.size());
    }
    std::string GetLastErrorMessage() override
    {
        return last_error_;
    }

  private:
    std::string name_, text_, last_error_;
    pb::compiler::DiskSourceTree disk_;
    bool any_dir_ = false;
    std::map<std::string, std::string> builtin_;
};

/* Keeps the first located error (1-based line and column) and the first
 * without a place (a file not found). */
class Collector : public pb::compiler::MultiFileErrorCollector
{
  public:
    void AddError(const std::string &filename, int line, int column, const std::string &message) override
    {
        if (line < 0) {
            if (other_.empty())
                other_ = filename + ": " + message;
            return;
        }
        if (line_)
            return;
        file_ = filename;
        line_ = line + 1;
        col_ = column + 1;
        msg_ = message;
    }
    void AddWarning(const std::string &, int, int, const std::string &) override
    {
    }
    int fill(tc_error *e) const
    {
        if (line_ && !other_.empty())
            tc_error_set(e, TC_ERR_INPUT, "%s:%d:%d: %s (%s)", file_.c_str(), line_, col_, msg_.c_str(),
                         other_.c_str());
        else if (line_)
            tc_error_set(e, TC_ERR_INPUT, "%s:%d:%d: %s", file_.c_str(), line_, col_, msg_.c_str());
        else if (!other_.empty())
            tc_error_set(e, TC_ERR_INPUT, "%s", other_.c_str());
        else
            tc_error_set(e, TC_ERR_INPUT, "the .proto cannot be read");
        if (e) {
            e->line = line_;
            e->col = col_;
        }
        return TC_ERR_INPUT;
    }

  private:
    int line_ = 0, col_ = 0;
    std::string file_, msg_, other_;
};

void quiet_log(pb::LogLevel, const char *, int, const std::string &)
{
}

std::once_flag log_once;

} // namespace

struct protodyn {
    TextSourceTree tree;
    Collector errors;
    pb::compiler::Importer importer;
    pb::DynamicMessageFactory factory;
    const pb::FileDescriptor *file = nullptr;
    std::string name;

    protodyn(const char *n, const char *text)
        : tree(n, text), importer(&tree, &errors), factory(importer.pool()), name(n)
    {
    }
};

extern "C" int protodyn_load(const char *name, const char *proto_text, const char *dir, protodyn **out,
                             tc_error *e)
{
    /* libprotobuf prints its own diagnostics to stderr: ours are in e */
    std::call_once(log_once, [] { pb::SetLogHandler(quiet_log); });
    if (!name || !*name)
        name = "protobufFile";
    if (!proto_text)
        proto_text = "";
    if (strlen(proto_text) > PROTODYN_MAX_TEXT)
        return tc_error_set(e, TC_ERR_LIMIT, "%s: larger than %zu bytes", name, PROTODYN_MAX_TEXT);
    try {
        std::unique_ptr<protodyn> p(new protodyn(name, proto_text));
        if (dir && *dir)
            p->tree.map_dir(dir);
        /* libprotobuf's .proto files where the system keeps headers */
        p->tree.map_dir("/usr/include");
        p->tree.map_dir("/usr/local/include");
        p->file = p->importer.Import(name);
        if (!p->file)
            return p->errors.fill(e);
        *out = p.release();
        return 0;
    } catch (const std::bad_alloc &) {
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    } catch (...) {
        return tc_error_set(e, TC_ERR_INPUT, "%s: the .proto cannot be read", name);
    }
}

extern "C" void protodyn_free(protodyn **p)
{
    if (!p || !*p)
        return;
    delete *p;
    *p = nullptr;
}

/* The method named "pkg.Svc.M", "pkg.Svc/M" or "/pkg.Svc/M", or NULL with e
 * listing the methods of the file's services. */
static const pb::MethodDescriptor *find_method(protodyn *p, const char *method, tc_error *e)
{
    std::string m(method ? method : "");
    if (!m.empty() && m[0] == '/')
        m.erase(0, 1);
    size_t cut = m.find('/');
    if (cut == std::string::npos)
        cut = m.rfind('.');
    const pb::MethodDescriptor *md = nullptr;
    if (cut != std::string::npos) {
        const pb::ServiceDescriptor *svc = p->importer.pool()->FindServiceByName(m.substr(0, cut));
        if (svc)
            md = svc->FindMethodByName(m.substr(cut + 1));
    }
    if (md)
        return md;
    std::string list;
    for (int i = 0; i < p->file->service_count(); i++) {
        const pb::ServiceDescriptor *svc = p->file->service(i);
        for (int j = 0; j < svc->method_count(); j++) {
            if (!list.empty())
                list += ", ";
            list += svc->method(j)->full_name();
        }
    }
    if (list.empty())
        tc_error_set(e, TC_ERR_INPUT, "method \"%s\" is not in %s, which defines no service",
                     method ? method : "", p->name.c_str());
    else
        tc_error_set(e, TC_ERR_INPUT, "method \"%s\" is not in %s; its methods are %s", method ? method : "",
                     p->name.c_str(), list.c_str());
    return nullptr;
}

extern "C" int protodyn_method(protodyn *p, const char *method, char **path, bool *server_streaming,
                               bool *client_streaming, tc_error *e)
{
    try {
        const pb::MethodDescriptor *md = find_method(p, method, e);
        if (!md)
            return TC_ERR_INPUT;
        if (path) {
            std::string s = "/" + md->service()->full_name() + "/" + md->name();
            *path = strdup(s.c_str());
            if (!*path)
                return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        }
        if (server_streaming)
            *server_streaming = md->server_streaming();
        if (client_streaming)
            *client_streaming = md->client_streaming();
        return 0;
    } catch (const std::bad_alloc &) {
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    } catch (const std::exception &ex) { /* libprotobuf's CHECK failures throw FatalException */
        return tc_error_set(e, TC_ERR_INPUT, "the protobuf library refused the message: %.160s", ex.what());
    } catch (...) {
        return tc_error_set(e, TC_ERR_INPUT, "the protobuf library refused the message");
    }
}

extern "C" int protodyn_encode_request(protodyn *p, const char *method, const char *json, size_t len,
                                       tc_buf *out, tc_error *e)
{
    try {
        const pb::MethodDescriptor *md = find_method(p, method, e);
        if (!md)
            return TC_ERR_INPUT;
        std::unique_ptr<pb::Message> msg(p->factory.GetPrototype(md->input_type())->New());
        size_t i = 0;
        while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
            i++;
        if (i < len) { /* blank: the empty message, as Tracetest sends it */
            pb::util::JsonParseOptions opt;
            opt.ignore_unknown_fields = false;
            pb::util::Status st = pb::util::JsonStringToMessage(pb::StringPiece(json, len), msg.get(), opt);
            if (!st.ok()) {
                std::string why(st.message());
                why = why.substr(0, why.find('\n')); /* libprotobuf adds the text and a caret */
                return tc_error_set(e, TC_ERR_INPUT, "request (%s): %s",
                                    md->input_type()->full_name().c_str(), why.c_str());
            }
        }
        std::string bin;
        if (!msg->SerializePartialToString(&bin))
            return tc_error_set(e, TC_ERR_INPUT, "request (%s): cannot be serialized",
                                md->input_type()->full_name().c_str());
        if (buf_append(out, bin.data(), bin.size()))
            return tc_error_set(e, TC_ERR_LIMIT, "request: larger than %zu bytes", out->max);
        return 0;
    } catch (const std::bad_alloc &) {
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    } catch (const std::exception &ex) { /* libprotobuf's CHECK failures throw FatalException */
        return tc_error_set(e, TC_ERR_INPUT, "the protobuf library refused the message: %.160s", ex.what());
    } catch (...) {
        return tc_error_set(e, TC_ERR_INPUT, "the protobuf library refused the message");
    }
}

/* libprotobuf's compact JSON as a tree, to print it as Tracetest does:
 * fields in declaration order, map entries sorted by key, two-space
 * indentation, "key": value, empty objects and arrays as {} and []. */
struct JNode {
    char kind = 's'; /* 'o' object, 'a' array, 's' anything else (raw text) */
    std::string raw; /* scalar text; an object member's key, quoted */
    std::vector<std::pair<std::string, JNode>> members;
    std::vector<JNode> items;
};

static void skip_ws(const std::string &j, size_t &i)
{
    while (i < j.size() && (j[i] == ' ' || j[i] == '\n' || j[i] == '\t' || j[i] == '\r'))
        i++;
}

static std::string parse_string(const std::string &j, size_t &i)
{
    size_t start = i++;
    while (i < j.size() && j[i] != '"')
        i += j[i] == '\\' ? 2 : 1;
    i++;
    return j.substr(start, i - start);
}

static JNode parse_json(const std::string &j, size_t &i)
{
    JNode n;
    skip_ws(j, i);
    if (i >= j.size())
        return n;
    char c = j[i];
    if (c == '{' || c == '[') {
        n.kind = c == '{' ? 'o' : 'a';
        i++;
        skip_ws(j, i);
        while (i < j.size() && j[i] != '}' && j[i] != ']') {
            if (n.kind == 'o') {
                std::string k = parse_string(j, i);
                skip_ws(j, i);
                i++; /* ':' */
                n.members.emplace_back(k, parse_json(j, i));
            } else {
                n.items.push_back(parse_json(j, i));
            }
            skip_ws(j, i);
            if (i < j.size() && j[i] == ',')
                i++;
            skip_ws(j, i);
        }
        i++;
    } else if (c == '"') {
        n.raw = parse_string(j, i);
    } else {
        size_t start = i;
        while (i < j.size() && j[i] != ',' && j[i] != '}' && j[i] != ']')
            i++;
        n.raw = j.substr(start, i - start);
    }
    return n;
}

/* Messages whose JSON is not an object of their fields. */
static bool special_json(const pb::Descriptor *d)
{
    return d->file()->name().rfind("google/protobuf/", 0) == 0;
}

static void order(JNode &n, const pb::Descriptor *msg);

/* The field a JSON member (its key quoted) is of, or NULL. */
static const pb::FieldDescriptor *member_field(const pb::Descriptor *msg, const std::string &quoted)
{
    std::string k = quoted.size() >= 2 ? quoted.substr(1, quoted.size() - 2) : quoted;
    for (int i = 0; i < msg->field_count(); i++)
        if (msg->field(i)->json_name() == k || msg->field(i)->name() == k)
            return msg->field(i);
    return nullptr;
}

/* Orders what a field's value holds. */
static void order_field(JNode &n, const pb::FieldDescriptor *fd)
{
    if (fd->is_map() && n.kind == 'o') {
        const pb::FieldDescriptor *kf = fd->message_type()->map_key();
        const pb::FieldDescriptor *vf = fd->message_type()->map_value();
        bool numeric = kf->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING &&
                       kf->cpp_type() != pb::FieldDescriptor::CPPTYPE_BOOL;
        auto key_less = [numeric](const std::pair<std::string, JNode> &x,
                                  const std::pair<std::string, JNode> &y) {
            if (!numeric)
                return x.first < y.first;
            bool xn = x.first.size() > 1 && x.first[1] == '-', yn = y.first.size() > 1 && y.first[1] == '-';
            if (xn != yn)
                return xn;
            if (x.first.size() != y.first.size())
                return xn ? x.first.size() > y.first.size() : x.first.size() < y.first.size();
            return xn ? x.first > y.first : x.first < y.first;
        };
        std::stable_sort(n.members.begin(), n.members.end(), key_less);
        if (vf->message_type())
            for (auto &m : n.members)
                order(m.second, vf->message_type());
    } else if (fd->is_repeated() && n.kind == 'a') {
        if (fd->message_type())
            for (auto &it : n.items)
                order(it, fd->message_type());
    } else if (fd->message_type()) {
        order(n, fd->message_type());
    }
}

static void order(JNode &n, const pb::Descriptor *msg)
{
    if (n.kind != 'o' || special_json(msg))
        return;
    auto rank = [msg](const std::string &quoted) {
        const pb::FieldDescriptor *f = member_field(msg, quoted);
        return f ? f->index() : msg->field_count();
    };
    std::stable_sort(n.members.begin(), n.members.end(),
                     [&rank](const std::pair<std::string, JNode> &x, const std::pair<std::string, JNode> &y) {
                         return rank(x.first) < rank(y.first);
                     });
    for (auto &m : n.members) {
        const pb::FieldDescriptor *f = member_field(msg, m.first);
        if (f)
            order_field(m.second, f);
    }
}

static void print_json(const JNode &n, int depth, tc_buf *out)
{
    auto newline = [out](int d) {
        buf_putc(out, '\n');
        for (int k = 0; k < d; k++)
            buf_puts(out, "  ");
    };
    if (n.kind == 's') {
        buf_append(out, n.raw.data(), n.raw.size());
    } else if (n.kind == 'o' ? n.members.empty() : n.items.empty()) {
        buf_puts(out, n.kind == 'o' ? "{}" : "[]");
    } else {
        buf_putc(out, n.kind == 'o' ? '{' : '[');
        size_t count = n.kind == 'o' ? n.members.size() : n.items.size();
        for (size_t i = 0; i < count; i++) {
            if (i)
                buf_putc(out, ',');
            newline(depth + 1);
            if (n.kind == 'o') {
                buf_append(out, n.members[i].first.data(), n.members[i].first.size());
                buf_puts(out, ": ");
                print_json(n.members[i].second, depth + 1, out);
            } else {
                print_json(n.items[i], depth + 1, out);
            }
        }
        newline(depth);
        buf_putc(out, n.kind == 'o' ? '}' : ']');
    }
}

static int decode(protodyn *p, const char *method, bool input, const uint8_t *data, size_t len, tc_buf *out,
                  tc_error *e)
{
    try {
        const pb::MethodDescriptor *md = find_method(p, method, e);
        if (!md)
            return TC_ERR_INPUT;
        const pb::Descriptor *type = input ? md->input_type() : md->output_type();
        std::unique_ptr<pb::Message> msg(p->factory.GetPrototype(type)->New());
        if (len > (size_t)INT32_MAX || !msg->ParsePartialFromArray(data, (int)len))
            return tc_error_set(e, TC_ERR_INPUT, "the message is not a %s", type->full_name().c_str());
        pb::util::JsonPrintOptions po;
        po.always_print_primitive_fields = true; /* Tracetest prints defaults */
        po.preserve_proto_field_names = false;
        std::string j;
        pb::util::Status st = pb::util::MessageToJsonString(*msg, &j, po);
        if (!st.ok()) {
            std::string why(st.message());
            return tc_error_set(e, TC_ERR_INPUT, "%s as JSON: %s", type->full_name().c_str(), why.c_str());
        }
        size_t mark = out->len, at = 0;
        JNode tree = parse_json(j, at);
        order(tree, type);
        print_json(tree, 0, out);
        if (out->failed) {
            out->failed = false;
            out->len = mark;
            if (out->ptr)
                out->ptr[mark] = 0;
            return tc_error_set(e, TC_ERR_LIMIT, "the %s as JSON is larger than %zu bytes",
                                type->full_name().c_str(), out->max);
        }
        return 0;
    } catch (const std::bad_alloc &) {
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    } catch (const std::exception &ex) { /* libprotobuf's CHECK failures throw FatalException */
        return tc_error_set(e, TC_ERR_INPUT, "the protobuf library refused the message: %.160s", ex.what());
    } catch (...) {
        return tc_error_set(e, TC_ERR_INPUT, "the protobuf library refused the message");
    }
}

extern "C" int protodyn_decode_response(protodyn *p, const char *method, const uint8_t *msg, size_t len,
                                        tc_buf *out, tc_error *e)
{
    return decode(p, method, false, msg, len, out, e);
}

extern "C" int protodyn_decode_request(protodyn *p, const char *method, const uint8_t *msg, size_t len,
                                       tc_buf *out, tc_error *e)
{
    return decode(p, method, true, msg, len, out, e);
}
