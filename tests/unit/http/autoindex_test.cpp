// The autoindex renderers: nginx's size column (exact and rounded to K/M/G), its sort
// order, the exact bytes of the HTML page (padding, truncation with "..>", escaping of
// hrefs and text), the XML and JSON escapes for any file name, and the JSONP callback
// argument.

#include "http/autoindex.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/arena.hpp"

namespace evs::http {
namespace {

using Kind = AutoindexEntry::Kind;

constexpr std::time_t k_mtime = 1577934245;  // Thu, 02 Jan 2020 03:04:05 GMT

std::string size_text(std::int64_t size, bool exact = false, bool dir = false) {
    char buf[32];
    return std::string(buf, format_autoindex_size(size, exact, dir, buf));
}

std::string render(std::vector<AutoindexEntry> entries, AutoindexOptions options,
                   std::string_view uri = "/d/") {
    core::Arena arena;
    sort_autoindex_entries(entries);
    const std::string_view out = render_autoindex(arena, uri, entries, options);
    EXPECT_NE(out.data(), nullptr);
    return std::string(out);
}

AutoindexEntry entry(std::string_view name, Kind kind = Kind::file, std::int64_t size = 0) {
    return AutoindexEntry{name, k_mtime, size, kind};
}

TEST(AutoindexSizeTest, ExactIsNineteenColumns) {
    EXPECT_EQ(size_text(0, true), std::string(18, ' ') + "0");
    EXPECT_EQ(size_text(1234567, true), std::string(12, ' ') + "1234567");
    EXPECT_EQ(size_text(5, true, true), std::string(18, ' ') + "-");
    EXPECT_EQ(size_text(std::int64_t{1} << 40, true), "      1099511627776");
}

TEST(AutoindexSizeTest, RoundedAsNginx) {
    EXPECT_EQ(size_text(0), "      0");
    EXPECT_EQ(size_text(9999), "   9999");
    EXPECT_EQ(size_text(10000), "    10K");  // 9.77 K
    EXPECT_EQ(size_text(10 * 1024 + 511), "    10K");
    EXPECT_EQ(size_text(10 * 1024 + 512), "    11K");  // rounds half up
    EXPECT_EQ(size_text(1024 * 1024 - 1), "  1024K");  // nginx keeps K below 1 MiB
    EXPECT_EQ(size_text(1024 * 1024), "     1M");
    EXPECT_EQ(size_text(5 * 1024 * 1024 + 512 * 1024 - 1), "     5M");
    EXPECT_EQ(size_text(5 * 1024 * 1024 + 512 * 1024), "     6M");
    EXPECT_EQ(size_text(std::int64_t{1} << 30), "     1G");
    EXPECT_EQ(size_text((std::int64_t{5} << 29)), "     3G");  // 2.5 G rounds up
    EXPECT_EQ(size_text((std::int64_t{2000} << 30)), "  2000G");
    EXPECT_EQ(size_text(123, false, true), "      -");
}

TEST(AutoindexSortTest, DirectoriesFirstThenBytes) {
    std::vector<AutoindexEntry> list = {entry("b"),
                                        entry("Z", Kind::directory),
                                        entry("a"),
                                        entry("\xc3\xa9"),
                                        entry("B"),
                                        entry("a", Kind::directory),
                                        entry("_x", Kind::other)};
    sort_autoindex_entries(list);
    std::vector<std::string> names;
    for (const auto& e : list) {
        names.emplace_back(std::string(e.name) + (e.kind == Kind::directory ? "/" : ""));
    }
    EXPECT_EQ(names, (std::vector<std::string>{"Z/", "a/", "B", "_x", "a", "b", "\xc3\xa9"}));
}

TEST(AutoindexHtmlTest, ExactNginxPage) {
    const std::string out =
        render({entry("a.txt", Kind::file, 5), entry("sub", Kind::directory)}, {});
    const std::string expected =
        "<html>\r\n<head><title>Index of /d/</title></head>\r\n<body>\r\n"
        "<h1>Index of /d/</h1><hr><pre><a href=\"../\">../</a>\r\n"
        "<a href=\"sub/\">sub/</a>" +
        std::string(46, ' ') + " 02-Jan-2020 03:04" + std::string(19, ' ') +
        "-\r\n"
        "<a href=\"a.txt\">a.txt</a>" +
        std::string(45, ' ') + " 02-Jan-2020 03:04" + std::string(19, ' ') +
        "5\r\n"
        "</pre><hr></body>\r\n</html>\r\n";
    EXPECT_EQ(out, expected);
}

TEST(AutoindexHtmlTest, EscapesHrefAndText) {
    const std::string out =
        render({entry("a <b>&\"c\" 'd'?#%.txt", Kind::file, 1)}, {}, "/x<y>&\"/");
    EXPECT_NE(out.find("<title>Index of /x&lt;y&gt;&amp;&quot;/</title>"), std::string::npos);
    EXPECT_NE(out.find("<a href=\"a%20%3Cb%3E%26%22c%22%20%27d%27%3F%23%25.txt\">"
                       "a &lt;b&gt;&amp;&quot;c&quot; 'd'?#%.txt</a>"),
              std::string::npos)
        << out;
    // Padding counts the characters shown, not the escapes.
    const std::size_t a_end = out.find("</a>", out.find("a%20"));
    EXPECT_EQ(out.compare(a_end + 4, 50 - 20 + 1, std::string(50 - 20, ' ') + " "), 0) << out;
}

TEST(AutoindexHtmlTest, LongNamesAreCutAt47Characters) {
    const std::string name(60, 'n');
    const std::string out = render({entry(name, Kind::file, 7)}, {});
    EXPECT_NE(out.find("<a href=\"" + name + "\">" + std::string(47, 'n') +
                       "..&gt;</a> 02-Jan-2020 03:04 "),
              std::string::npos)
        << out;
    // Exactly 50: shown whole, no padding; a directory of 50 gets no slash in the text.
    const std::string fifty(50, 'f');
    const std::string dir_out = render({entry(fifty, Kind::directory)}, {});
    EXPECT_NE(dir_out.find("<a href=\"" + fifty + "/\">" + fifty + "</a> 02-Jan"),
              std::string::npos)
        << dir_out;
    // 49 characters: the directory slash fills the last column.
    const std::string forty_nine(49, 'g');
    const std::string dir49 = render({entry(forty_nine, Kind::directory)}, {});
    EXPECT_NE(dir49.find(forty_nine + "/</a> 02-Jan"), std::string::npos) << dir49;
}

TEST(AutoindexHtmlTest, Utf8NamesCountCharacters) {
    std::string name;
    for (int i = 0; i < 55; ++i) {
        name += "\xc3\xa9";  // é
    }
    const std::string out = render({entry(name)}, {});
    std::string shown;
    for (int i = 0; i < 47; ++i) {
        shown += "\xc3\xa9";
    }
    EXPECT_NE(out.find("\">" + shown + "..&gt;</a>"), std::string::npos) << out;
    EXPECT_NE(out.find("<a href=\"" + std::string("%C3%A9%C3%A9")), std::string::npos);
    // A short one is padded by characters: 3 characters, 6 bytes, 47 spaces.
    const std::string short_out = render({entry("\xc3\xa9\xc3\xa9\xc3\xa9")}, {});
    EXPECT_NE(short_out.find("\xc3\xa9\xc3\xa9\xc3\xa9</a>" + std::string(47, ' ') + " 02-Jan"),
              std::string::npos);
}

TEST(AutoindexHtmlTest, RoundedSizesAndLocaltime) {
    AutoindexOptions options;
    options.exact_size = false;
    const std::string out = render({entry("big", Kind::file, 3 * 1024 * 1024)}, options);
    EXPECT_NE(out.find(" 02-Jan-2020 03:04      3M\r\n"), std::string::npos) << out;
}

TEST(AutoindexXmlTest, FormatAndEscapes) {
    const std::string out =
        render({entry("d<&>", Kind::directory), entry("f\"x", Kind::file, 42),
                entry("s", Kind::other), entry("c\x01\t\n\xff.txt", Kind::file, 1)},
               {AutoindexFormat::xml, true, false, {}});
    EXPECT_EQ(out,
              "<?xml version=\"1.0\"?>\r\n<list>\r\n"
              "<directory mtime=\"2020-01-02T03:04:05Z\">d&lt;&amp;&gt;</directory>\r\n"
              "<file mtime=\"2020-01-02T03:04:05Z\" size=\"1\">c\xEF\xBF\xBD&#9;&#10;"
              "\xEF\xBF\xBD.txt</file>\r\n"
              "<file mtime=\"2020-01-02T03:04:05Z\" size=\"42\">f&quot;x</file>\r\n"
              "<other mtime=\"2020-01-02T03:04:05Z\">s</other>\r\n"
              "</list>\r\n");
}

TEST(AutoindexJsonTest, FormatAndEscapes) {
    const std::string out = render(
        {entry("d", Kind::directory), entry("q\"\\/\x01\x1f\n\xff\xe2\x80\xa8", Kind::file, 9)},
        {AutoindexFormat::json, true, false, {}});
    EXPECT_EQ(
        out,
        "[\r\n"
        "{ \"name\":\"d\", \"type\":\"directory\", \"mtime\":\"Thu, 02 Jan 2020 03:04:05 GMT\" "
        "},\r\n"
        "{ \"name\":\"q\\\"\\\\/\\u0001\\u001f\\n\\ufffd\xe2\x80\xa8\", \"type\":\"file\", "
        "\"mtime\":\"Thu, 02 Jan 2020 03:04:05 GMT\", \"size\":9 }\r\n"
        "]\r\n");
    EXPECT_EQ(render({}, {AutoindexFormat::json, true, false, {}}), "[\r\n]\r\n");
}

TEST(AutoindexJsonTest, JsonpWrapsAndEscapesLineSeparators) {
    const std::string out = render({entry("a\xe2\x80\xa8", Kind::file, 1)},
                                   {AutoindexFormat::jsonp, true, false, "cb.x_1"});
    EXPECT_EQ(out,
              "cb.x_1([\r\n{ \"name\":\"a\\u2028\", \"type\":\"file\", "
              "\"mtime\":\"Thu, 02 Jan 2020 03:04:05 GMT\", \"size\":1 }\r\n]);\r\n");
    // Without a callback: plain JSON.
    EXPECT_EQ(render({}, {AutoindexFormat::jsonp, true, false, {}}), "[\r\n]\r\n");
}

TEST(AutoindexCallbackTest, FindsAndValidatesTheArgument) {
    EXPECT_EQ(find_callback_argument("callback=f"), "f");
    EXPECT_EQ(find_callback_argument("a=1&callback=g&b=2"), "g");
    EXPECT_EQ(find_callback_argument("xcallback=h"), "");
    EXPECT_EQ(find_callback_argument("callback="), "");
    EXPECT_EQ(find_callback_argument(""), "");
    EXPECT_TRUE(valid_callback("jQuery_123.cb"));
    EXPECT_TRUE(valid_callback(""));
    EXPECT_FALSE(valid_callback("alert(1)"));
    EXPECT_FALSE(valid_callback("a%28"));
    EXPECT_FALSE(valid_callback("a-b"));
    EXPECT_TRUE(valid_callback(std::string(128, 'x')));
    EXPECT_FALSE(valid_callback(std::string(129, 'x')));
}

}  // namespace
}  // namespace evs::http
