#include "cluster/kv_keys.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace presenced::cluster {
namespace {

TEST(KvKeysTest, PlainIdsStayAsTheyAre) {
  EXPECT_EQ(key_token("alice"), "alice");
  EXPECT_EQ(key_token("Bob_2-x"), "Bob_2-x");
}

TEST(KvKeysTest, EveryOtherByteIsEscapedSoAnIdIsOneToken) {
  EXPECT_EQ(key_token("a.b"), "a=2Eb");
  EXPECT_EQ(key_token("carol@example.org"), "carol=40example=2Eorg");
  EXPECT_EQ(key_token("x+y=z"), "x=2By=3Dz");
  EXPECT_EQ(key_token("sip:bob@x"), "sip=3Abob=40x");
  EXPECT_EQ(key_token("\xc3\xa9"), "=C3=A9");
}

TEST(KvKeysTest, TokensReadBackToTheSameId) {
  const std::string ids[] = {"alice", "a.b", "carol@example.org", "x+y=z", "=41", "\xc3\xa9",
                             std::string("nul\0byte", 8), ""};
  for (const std::string& id : ids) {
    const std::string token = key_token(id);
    for (const char c : token) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                  c == '=')
          << token;
    }
    EXPECT_EQ(user_from_token(token), id) << token;
  }
}

TEST(KvKeysTest, WhatKeyTokenNeverWritesIsNotAToken) {
  for (const char* token : {"a.b", "a=2e", "a=2", "a=", "=G1", "=41", "a b", "a=5F"}) {
    EXPECT_EQ(user_from_token(token), std::nullopt) << token;
  }
}

}  // namespace
}  // namespace presenced::cluster
