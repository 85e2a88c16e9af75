print("conndiag")
