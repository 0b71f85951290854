// GENERATED from test/fixtures/upstream-bankai/probes-builtin.json (upstream Bankai, Apache-2.0):
// DO NOT modify by hand. A test checks it still equals the fixture.

export const BUILTIN_PROBES_JSON = {
  "source": "nikshepsvn/bankai bankai/probes.py built-in sets (Apache-2.0), converted to JSON",
  "sets": {
    "MATH_PROBES": [
      {
        "name": "add_1",
        "category": "math",
        "prompt": "1 + 1 =",
        "correct": " 2",
        "wrong": " 3"
      },
      {
        "name": "add_2",
        "category": "math",
        "prompt": "2 + 2 =",
        "correct": " 4",
        "wrong": " 5"
      },
      {
        "name": "mul_1",
        "category": "math",
        "prompt": "7 * 8 =",
        "correct": " 56",
        "wrong": " 54"
      },
      {
        "name": "sqrt_1",
        "category": "math",
        "prompt": "The square root of 144 is",
        "correct": " 12",
        "wrong": " 14"
      },
      {
        "name": "algebra_1",
        "category": "math",
        "prompt": "If x = 3, then x^2 =",
        "correct": " 9",
        "wrong": " 8"
      },
      {
        "name": "div_1",
        "category": "math",
        "prompt": "100 / 4 =",
        "correct": " 25",
        "wrong": " 20"
      }
    ],
    "CODE_PROBES": [
      {
        "name": "hello_world",
        "category": "code",
        "prompt": "def hello():\n    print(\"Hello",
        "correct": " World",
        "wrong": " Goodbye"
      },
      {
        "name": "python_open",
        "category": "code",
        "prompt": "In Python, to open a file you use the",
        "correct": " open",
        "wrong": " close"
      },
      {
        "name": "for_loop",
        "category": "code",
        "prompt": "for i in range(10):\n    print(",
        "correct": "i",
        "wrong": "x"
      },
      {
        "name": "json_loads",
        "category": "code",
        "prompt": "import json\ndata = json.",
        "correct": "loads",
        "wrong": "dump"
      }
    ],
    "KNOWLEDGE_PROBES": [
      {
        "name": "france_capital",
        "category": "knowledge",
        "prompt": "The capital of France is",
        "correct": " Paris",
        "wrong": " London"
      },
      {
        "name": "japan_capital",
        "category": "knowledge",
        "prompt": "The capital of Japan is",
        "correct": " Tokyo",
        "wrong": " Beijing"
      },
      {
        "name": "sky_color",
        "category": "knowledge",
        "prompt": "The color of the sky is",
        "correct": " blue",
        "wrong": " red"
      },
      {
        "name": "einstein",
        "category": "knowledge",
        "prompt": "Einstein is famous for the theory of",
        "correct": " relativity",
        "wrong": " evolution"
      },
      {
        "name": "water_formula",
        "category": "knowledge",
        "prompt": "The chemical formula for water is H",
        "correct": "2",
        "wrong": "3"
      }
    ]
  }
} as const;
