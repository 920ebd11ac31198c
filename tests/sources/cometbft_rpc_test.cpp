#include "visor/sources/cometbft_rpc.h"

#include <gtest/gtest.h>

#include <string>

namespace visor {
namespace {

// The protobuf wire format written by hand (https://protobuf.dev/programming-guides/encoding/),
// so that these bytes do not come from the generated code under test.
std::string varint(std::uint64_t number) {
  std::string out;
  while (number >= 0x80) {
    out.push_back(static_cast<char>((number & 0x7F) | 0x80));
    number >>= 7;
  }
  out.push_back(static_cast<char>(number));
  return out;
}
std::string bytes_field(int field, const std::string& data) {
  return varint(static_cast<std::uint64_t>(field) << 3 | 2) + varint(data.size()) + data;
}
std::string varint_field(int field, std::uint64_t number) {
  return varint(static_cast<std::uint64_t>(field) << 3) + varint(number);
}

// QueryParamsResponse{params=1{version=1{provider_target=1 ... consumer_min=4}}}.
std::string lava_reply(const std::string& provider_target, const std::string& provider_min,
                       const std::string& consumer_target, const std::string& consumer_min) {
  const std::string version = bytes_field(1, provider_target) + bytes_field(2, provider_min) +
                              bytes_field(3, consumer_target) + bytes_field(4, consumer_min);
  // Params carries other fields in Lava (e.g. 2); an unknown one must be skipped.
  return bytes_field(1, bytes_field(1, version) + varint_field(2, 7));
}

// The abci_query reply of a CometBFT node, with `value` already base64.
std::string abci_reply(const std::string& value_json) {
  return R"({"jsonrpc":"2.0","id":-1,"result":{"response":{"code":0,"log":"","info":"",)"
         R"("index":"0","key":null,"value":)" +
         value_json + R"(,"proofOps":null,"height":"4711","codespace":""}}})";
}

TEST(CometbftRpc, UrlsQuoteThePathAndDropTrailingSlashes) {
  EXPECT_EQ(node_status_url("http://127.0.0.1:26657/"), "http://127.0.0.1:26657/status");
  EXPECT_EQ(abci_query_url("https://lava.example:443//", kLavaParamsQuery),
            "https://lava.example:443/abci_query?path=%22/lavanet.lava.protocol.Query/Params%22");
}

TEST(CometbftRpc, StatusGivesChainIdAndHeight) {
  const char* body =
      R"({"jsonrpc":"2.0","id":-1,"result":{"node_info":{"protocol_version":{"p2p":"8"},)"
      R"("network":"lava-mainnet-1","version":"0.38.12"},"sync_info":{)"
      R"("latest_block_hash":"AB","latest_block_height":"2154732","catching_up":false}}})";
  auto status = parse_node_status(body);
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(status->chain_id, "lava-mainnet-1");
  EXPECT_EQ(status->height, 2154732u);
  EXPECT_TRUE(check_chain(status.value(), "lava-mainnet-1").ok());
  EXPECT_TRUE(check_chain(status.value(), "").ok());
  const auto other = check_chain(status.value(), "lava-testnet-2");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().find("'lava-mainnet-1'"), std::string::npos) << other.error();
  EXPECT_NE(other.error().find("'lava-testnet-2'"), std::string::npos) << other.error();
}

TEST(CometbftRpc, StatusErrorsAreOneLine) {
  EXPECT_FALSE(parse_node_status("<html>"));
  EXPECT_FALSE(parse_node_status(R"({"result":{}})"));
  auto failed = parse_node_status(
      R"({"jsonrpc":"2.0","id":-1,"error":{"code":-32603,"message":"Internal error","data":"x"}})");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("Internal error"), std::string::npos) << failed.error();
  EXPECT_FALSE(parse_node_status(
      R"({"result":{"node_info":{"network":"c"},"sync_info":{"latest_block_height":"-3"}}})"));
}

TEST(CometbftRpc, AbciValueIsBase64DecodedAndNullMeansNothing) {
  // "CgNhYmM=" is base64 of 0a 03 61 62 63.
  auto value = parse_abci_query(abci_reply(R"("CgNhYmM=")"));
  ASSERT_TRUE(value) << value.error();
  EXPECT_EQ(value.value(), std::string("\x0a\x03"
                                       "abc"));
  auto empty = parse_abci_query(abci_reply("null"));
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_TRUE(empty->empty());
  auto blank = parse_abci_query(abci_reply(R"("")"));
  ASSERT_TRUE(blank) << blank.error();
  EXPECT_TRUE(blank->empty());
}

TEST(CometbftRpc, AbciFailuresAreErrors) {
  EXPECT_FALSE(parse_abci_query(abci_reply(R"("%%% not base64 %%%")")));
  EXPECT_FALSE(parse_abci_query(abci_reply(R"("CgNhYmM")")));  // unpadded
  EXPECT_FALSE(parse_abci_query(abci_reply("17")));
  EXPECT_FALSE(parse_abci_query(R"({"jsonrpc":"2.0","id":-1,"result":{"resp)"));
  auto code = parse_abci_query(
      R"({"result":{"response":{"code":6,"log":"unknown query path","value":null}}})");
  ASSERT_FALSE(code);
  EXPECT_NE(code.error().find("unknown query path"), std::string::npos) << code.error();
}

TEST(CometbftRpc, LavaParamsDecodeForEachRole) {
  const std::string value = lava_reply("v5.3.0", "5.2.0", "5.4.0", "v5.1.0");
  auto provider = decode_lava_params(value, LavaRole::provider);
  ASSERT_TRUE(provider) << provider.error();
  EXPECT_EQ(provider->target, "5.3.0");
  EXPECT_EQ(provider->min, "5.2.0");
  auto consumer = decode_lava_params(value, LavaRole::consumer);
  ASSERT_TRUE(consumer) << consumer.error();
  EXPECT_EQ(consumer->target, "5.4.0");
  EXPECT_EQ(consumer->min, "5.1.0");
}

TEST(CometbftRpc, BadLavaParamsAreErrors) {
  EXPECT_FALSE(decode_lava_params("", LavaRole::provider));
  EXPECT_FALSE(decode_lava_params(std::string("\x0a\x64"
                                              "abc"),
                                  LavaRole::provider));                      // truncated
  EXPECT_FALSE(decode_lava_params(bytes_field(1, ""), LavaRole::provider));  // no version
  EXPECT_FALSE(decode_lava_params(lava_reply("5.3.0", "", "5.3.0", "5.0.0"), LavaRole::provider));
  EXPECT_FALSE(
      decode_lava_params(lava_reply("banana", "5.0.0", "5.3.0", "5.0.0"), LavaRole::provider));
  auto above =
      decode_lava_params(lava_reply("5.0.0", "5.3.0", "5.3.0", "5.0.0"), LavaRole::provider);
  ASSERT_FALSE(above);
  EXPECT_NE(above.error().find("above"), std::string::npos) << above.error();
}

TEST(CometbftRpc, CurrentPlanDecodesNameHeightAndBinaries) {
  const std::string info =
      R"({"binaries":{"linux/amd64":"https://example.com/simd?checksum=sha256:)" +
      std::string(64, 'a') + R"("}})";
  // Plan{name=1, time=2 (a Timestamp, deprecated: skipped), height=3, info=4}.
  const std::string plan = bytes_field(1, "v2.0.0") + bytes_field(2, varint_field(1, 1700000000)) +
                           varint_field(3, 123456) + bytes_field(4, info);
  auto decoded = decode_current_plan(bytes_field(1, plan));
  ASSERT_TRUE(decoded) << decoded.error();
  ASSERT_TRUE(decoded->has_value());
  const UpgradeInfo& scheduled = **decoded;
  EXPECT_EQ(scheduled.name, "v2.0.0");
  EXPECT_EQ(scheduled.height, 123456u);
  EXPECT_EQ(scheduled.binaries.count("linux/amd64"), 1u);
  EXPECT_EQ(decide_cosmos(scheduled, "", "1.0.0", Platform{"linux", "amd64"}).sha256,
            std::string(64, 'a'));
}

TEST(CometbftRpc, NoPlanAndBadPlans) {
  auto none = decode_current_plan("");
  ASSERT_TRUE(none) << none.error();
  EXPECT_FALSE(none->has_value());
  auto empty_plan = decode_current_plan(bytes_field(1, ""));
  ASSERT_TRUE(empty_plan) << empty_plan.error();
  EXPECT_FALSE(empty_plan->has_value());
  EXPECT_FALSE(decode_current_plan("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"));
  EXPECT_FALSE(decode_current_plan(bytes_field(1, bytes_field(1, "v2") + varint_field(3, 0))));
}

}  // namespace
}  // namespace visor
