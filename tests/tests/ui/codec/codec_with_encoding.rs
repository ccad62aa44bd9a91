use redis_runtime::RedisModel;
use redis_runtime::codec::ValueCodec;

struct Text;

impl ValueCodec<Note> for Text {
    const NAME: &'static str = "text";
    type Error = std::string::FromUtf8Error;
    fn encode(note: &Note) -> Result<Vec<u8>, Self::Error> {
        Ok(note.body.clone().into_bytes())
    }
    fn decode(bytes: &[u8]) -> Result<Note, Self::Error> {
        Ok(Note { id: 0, body: String::from_utf8(bytes.to_vec())? })
    }
}

#[derive(RedisModel)]
#[redis(key = "note:{id}", encoding = "json", codec = Text)]
struct Note {
    id: u64,
    body: String,
}

fn main() {}
